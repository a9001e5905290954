import { describe, expect, it } from 'vitest';
import { busyShare, machineCpu, statCpuSeconds, statusKiB } from './proc.ts';

describe('/proc text', () => {
  it('adds utime and stime of /proc/PID/stat, even when the command name holds spaces and parens', () => {
    // pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime ...
    const stat = '4242 (kube (api) server) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 566 0 0 20 0 9';
    expect(statCpuSeconds(stat)).toBe(18);
  });

  it('reads a KiB figure of /proc/PID/status by its key, NaN when absent', () => {
    const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nRssAnon:\t   51200 kB\n';
    expect(statusKiB(status, 'VmRSS')).toBe(102400);
    expect(statusKiB(status, 'RssAnon')).toBe(51200);
    expect(statusKiB(status, 'VmHWM')).toBe(204800);
    expect(statusKiB(status, 'VmSwap')).toBeNaN();
  });

  it('reads the machine busy and idle time of /proc/stat, and the busy share between two readings', () => {
    // user nice system idle iowait irq softirq steal guest guest_nice
    const before = machineCpu('cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n');
    const after = machineCpu('cpu  250 10 100 900 60 5 5 0 40 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n');
    expect(before).toEqual({ busy: 150, total: 1000 });
    expect(after).toEqual({ busy: 370, total: 1330 });
    expect(busyShare(before, after)).toBeCloseTo(220 / 330);
    expect(busyShare(after, after)).toBeUndefined();
  });
});
