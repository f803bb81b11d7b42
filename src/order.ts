// The order reports list things in. String.prototype.localeCompare orders by
// the user's locale (LANG): the same tree gave findings in another order under
// sv_SE or tr_TR than under en_US, and its first call costs ~15 ms of ICU
// set-up on every run. Reports are ordered as `LC_ALL=C sort` orders: by UTF-16
// code unit, the same on every machine.

/** Code-unit order of two strings: negative, zero or positive, as a sort comparator wants. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
