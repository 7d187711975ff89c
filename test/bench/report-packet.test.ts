/** bench/report.ts reads the fixed-width table of bench/bpf-packet.ts, with or without its comparison column. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packetRatios } from '../../bench/report.js';

const WITH_NO_AUDIT = `case                                   pods  no audit ns  ns/packet  delta vs empty  min-max of 3
-----------------------------------  ------  -----------  ---------  --------------  ------------
empty tc program                          -                      17                         16-17
to_pod established                    1,000           48         47             +30         47-48
to_pod new flow, denied              10,000          134        132            +115       132-133

to_pod new flow, fresh tuple each run (through build/bpf/fresh.bpf.o, see notes):`;

const PLAIN = `case                 pods  ns/packet  delta vs empty  min-max of 3
-------------------  ----  ---------  --------------  ------------
empty tc program        -         20                         19-21
to_pod established      0         50             +30         49-51
`;

const CASES: readonly { name: string; output: string; want: string[] }[] = [
  {
    name: 'with the build without audit code beside it',
    output: WITH_NO_AUDIT,
    want: [
      '| case | pods | ns/packet | minus empty program | / empty program | without audit code |',
      '|---|---|---|---|---|---|',
      '| empty tc program | - | 17 | 0 | 100.0% |  |',
      '| to_pod established | 1,000 | 47 | 30 | 276.5% | 48 |',
      '| to_pod new flow, denied | 10,000 | 132 | 115 | 776.5% | 134 |',
    ],
  },
  {
    name: 'without a comparison column',
    output: PLAIN,
    want: [
      '| case | pods | ns/packet | minus empty program | / empty program |',
      '|---|---|---|---|---|',
      '| empty tc program | - | 20 | 0 | 100.0% |',
      '| to_pod established | 0 | 50 | 30 | 250.0% |',
    ],
  },
  { name: 'no table', output: 'bench/bpf-packet.ts needs root', want: [] },
];

for (const c of CASES) {
  test(`packet table: ${c.name}`, () => assert.deepEqual(packetRatios(c.output), c.want));
}
