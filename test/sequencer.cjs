// Runs test files in name order, with test/integration/zz-leaks.test.ts last: it checks that the
// whole suite left nothing behind on the machine.
const Sequencer = require('@jest/test-sequencer').default;

class LeaksLast extends Sequencer {
  sort(tests) {
    const key = (t) => (t.path.includes('zz-leaks') ? '~' : '') + t.path;
    return [...tests].sort((a, b) => (key(a) < key(b) ? -1 : 1));
  }
}
module.exports = LeaksLast;
