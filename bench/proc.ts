// Reading a process's /proc/PID/stat and /proc/PID/status text into numbers, for the benches that
// measure other processes' CPU and memory. Pure (see bench/proc.test.ts); the callers read the files.

const USER_HZ = 100;

/** utime + stime of /proc/PID/stat, in seconds. */
export function statCpuSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "(comm) ": field 3 is index 0, so utime (14) and stime (15) are 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

/** A `Key:   N kB` line of /proc/PID/status, in KiB (NaN where absent). */
export const statusKiB = (status: string, key: string): number =>
  Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1]);

/** The machine's CPU time, busy and in all, in jiffies. */
export interface MachineCpu {
  readonly busy: number;
  readonly total: number;
}

/** The machine's CPU time from /proc/stat's first line (`cpu  user nice system idle iowait …`). */
export function machineCpu(procStat: string): MachineCpu {
  const fields = (/^cpu\s+(.*)$/m.exec(procStat)?.[1] ?? '').trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is counted in user already).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/**
 * Between two /proc/stat readings: the share of every core that was busy (0 to 1), or undefined
 * when no time passed.
 */
export function busyShare(before: MachineCpu, after: MachineCpu): number | undefined {
  const total = after.total - before.total;
  return total > 0 ? (after.busy - before.busy) / total : undefined;
}
