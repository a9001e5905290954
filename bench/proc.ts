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
