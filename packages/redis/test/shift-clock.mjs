// Preloaded into fleet workers (`--import`): shifts Date.now() and new Date() by
// SLUICE_CLOCK_SHIFT_MS, as a machine whose wall clock is off would. Decisions must not change:
// they are made on Redis's clock only.
const shift = Number(process.env.SLUICE_CLOCK_SHIFT_MS ?? 0);
const RealDate = Date;
const realNow = RealDate.now.bind(RealDate);

class ShiftedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(realNow() + shift);
    else super(...args);
  }
  static now() {
    return realNow() + shift;
  }
}
globalThis.Date = ShiftedDate;
