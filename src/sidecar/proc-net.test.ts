import { describe, expect, it } from 'vitest';
import { formatIPv6, isLoopbackAddress, mergeListeners, parseProcNetTcp } from './proc-net.ts';

// Captured on x86_64 (Linux 6.x) with listeners on 127.0.0.1:48080, 0.0.0.0:48081, ::1:48082,
// [::]:48083 (v6only), [::]:48084 (dual stack) and one established connection to 48081; trailing
// blanks kept as the kernel pads them. Plus a pod-IP listener (198.18.0.5:8080) and a mapped address.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     
  10: 00000000:BBD1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1392491 1 000000007f0d8eb4 100 0 0 10 0                   
  12: 0100007F:BBD0 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1392490 1 00000000cea31d4e 100 0 0 10 0                   
  13: 050012C6:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1392497 1 00000000cea31d4f 100 0 0 10 0                   
  62: 0100007F:BBD1 0100007F:C460 06 00000000:00000000 03:00001598 00000000     0        0 0 3 0000000008370873                                      
 618: 0100007F:C470 0100007F:BBD1 01 00000000:00000000 00:00000000 00000000     0        0 1392495 2 00000000140b7229 21 0 0 10 -1                   
 648: 0100007F:BBD1 0100007F:C470 01 00000000:00000000 00:00000000 00000000     0        0 1392496 1 000000002fa8de1c 21 0 0 10 -1                   
`;

const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:BBD2 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1392492 1 00000000297a7801 100 0 0 10 0
   1: 00000000000000000000000000000000:BBD3 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1392493 1 00000000ccc4949c 100 0 0 10 0
   2: 00000000000000000000000000000000:BBD4 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1392494 1 00000000ebb88210 100 0 0 10 0
   3: 0000000000000000FFFF00000100007F:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1392498 1 00000000ebb88211 100 0 0 10 0
   4: B80D0120000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1392499 1 00000000ebb88212 100 0 0 10 0
   5: B80D0120000000000000000001000000:C350 B80D0120000000000000000002000000:0050 01 00000000:00000000 00:00000000 00000000     0        0 1392500 1 00000000ebb88213 21 0 0 10 -1
`;

describe('parseProcNetTcp', () => {
  it('reads the listening sockets of /proc/net/tcp, skipping connections and the header', () => {
    expect(parseProcNetTcp(TCP, 4)).toEqual([
      { family: 4, address: '0.0.0.0', port: 48081 },
      { family: 4, address: '127.0.0.1', port: 48080 },
      { family: 4, address: '198.18.0.5', port: 8080 },
    ]);
  });

  it('reads /proc/net/tcp6: loopback, wildcard, IPv4-mapped and global addresses', () => {
    expect(parseProcNetTcp(TCP6, 6)).toEqual([
      { family: 6, address: '::1', port: 48082 },
      { family: 6, address: '::', port: 48083 },
      { family: 6, address: '::', port: 48084 },
      { family: 6, address: '::ffff:127.0.0.1', port: 8081 },
      { family: 6, address: '2001:db8::1', port: 80 },
    ]);
  });

  it('reads big-endian hosts, whose words print in network order', () => {
    const line = '   0: 7F000001:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1 0';
    expect(parseProcNetTcp(line, 4, 'BE')).toEqual([{ family: 4, address: '127.0.0.1', port: 8080 }]);
  });

  it('skips lines that do not parse instead of failing the round', () => {
    const text = ['garbage', '   0: 0100007F 00000000:0000 0A', '   1: XYZ:1F90 00000000:0000 0A', ''].join(
      '\n',
    );
    expect(parseProcNetTcp(text, 4)).toEqual([]);
    expect(parseProcNetTcp('', 6)).toEqual([]);
  });
});

describe('formatIPv6', () => {
  it.each([
    [[...Array(16).fill(0)], '::'],
    [[...Array(15).fill(0), 1], '::1'],
    [[0xfe, 0x80, ...Array(13).fill(0), 1], 'fe80::1'],
    [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], '2001:db8:0:1::1'],
    [[0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1], '2001:db8:1:1:1:1:1:1'],
  ])('%j -> %s', (bytes, text) => {
    expect(formatIPv6(bytes)).toBe(text);
  });
});

describe('listener helpers', () => {
  it('knows loopback in both families', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'].every(isLoopbackAddress)).toBe(true);
    expect(['0.0.0.0', '::', '198.18.0.5'].some(isLoopbackAddress)).toBe(false);
  });

  it('merges both files, one entry per family/address/port, ordered by port', () => {
    const merged = mergeListeners(parseProcNetTcp(TCP, 4), parseProcNetTcp(TCP6, 6));
    expect(merged.map((l) => `${l.address}:${l.port}`)).toEqual([
      '2001:db8::1:80',
      '198.18.0.5:8080',
      '::ffff:127.0.0.1:8081',
      '127.0.0.1:48080',
      '0.0.0.0:48081',
      '::1:48082',
      ':::48083',
      ':::48084',
    ]);
  });
});
