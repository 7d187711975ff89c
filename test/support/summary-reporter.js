// node:test reporter: lists failures (name path + error) once the run is over,
// then prints exactly one final line: `N passed, N failed, N skipped`.
//
// Counting follows what a reader means by "a test":
//   - leaves count (it/test without subtests); suites and parent tests whose
//     outcome only reflects their children do not;
//   - a parent or suite failure counts when none of its descendants failed
//     (an `after` hook that throws, a describe body that throws);
//   - a file that fails without reporting any test (import or syntax error)
//     counts as one failure, with the file's stderr shown;
//   - todo counts as skipped, whether its body passed or failed;
//   - tests cancelled by a failing parent or hook count as failed.
//
// Events of one file arrive in post-order (children before their parent) and
// files run one at a time (--test-concurrency=1), which the bookkeeping uses.

import { relative } from 'node:path';
import { inspect } from 'node:util';

const SUBTESTS_FAILED = 'subtestsFailed';
/** Events that belong to the file being run (enqueue/dequeue can run ahead). */
/** Stack frames in node itself or without a location. */
const NOISE_FRAME = /^\s+at (?:(?:.* \()?node:|.*\((?:<anonymous>|index \d+)\)$)/;
const FILE_EVENTS = new Set(['test:start', 'test:pass', 'test:fail', 'test:stderr', 'test:stdout']);

/** @param {string | undefined} file */
function displayFile(file) {
  return file === undefined ? '<unknown file>' : relative(process.cwd(), file) || file;
}

/** @param {unknown} err */
function formatError(err) {
  if (!(err instanceof Error)) return inspect(err);
  // node:test wraps the thrown value; the original error is the cause.
  const shown = err.cause !== undefined && err.cause !== null ? err.cause : err;
  if (!(shown instanceof Error) || typeof shown.stack !== 'string') return inspect(shown, { depth: 6 });
  // The message (with assert's diff) is part of the stack text; frames inside
  // node itself say nothing about the failing test.
  return shown.stack
    .split('\n')
    .filter((line) => !NOISE_FRAME.test(line))
    .join('\n');
}

/** @param {string} text @param {string} prefix */
function indent(text, prefix) {
  return text
    .split('\n')
    .map((line) => (line.length > 0 ? prefix + line : line))
    .join('\n');
}

function newFileState() {
  return {
    /** @type {string[]} names of the open tests, by nesting */
    names: [],
    /** @type {boolean[]} a finished test was seen at this nesting since the parent started */
    hadChild: [],
    /** @type {boolean[]} a failure was counted at this nesting (or below) since the parent started */
    failedBelow: [],
    /** @type {string[]} */
    stderr: [],
  };
}

export default async function* summaryReporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  /** @type {string[]} */
  const failures = [];
  /** @type {string | undefined} */
  let currentFile;
  let state = newFileState();

  for await (const event of source) {
    const data = event.data ?? {};
    if (data.file !== undefined && data.file !== currentFile && FILE_EVENTS.has(event.type)) {
      currentFile = data.file;
      state = newFileState();
    }
    if (event.type === 'test:stderr' && typeof data.message === 'string') {
      state.stderr.push(data.message);
      continue;
    }
    if (event.type === 'test:start') {
      state.names[data.nesting] = data.name;
      state.names.length = data.nesting + 1;
      continue;
    }
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;

    const n = data.nesting;
    const details = data.details ?? {};
    const isFileWrapper = n === 0 && data.name === data.file;
    const leaf = state.hadChild[n + 1] !== true;
    const descendantFailed = state.failedBelow[n + 1] === true;
    state.hadChild[n + 1] = false;
    state.failedBelow[n + 1] = false;
    state.hadChild[n] = true;

    const isSuite = details.type === 'suite';
    let outcome = 'none';
    if (data.todo !== undefined && data.todo !== false) {
      outcome = leaf ? 'skipped' : 'none';
    } else if (data.skip !== undefined && data.skip !== false) {
      outcome = leaf ? 'skipped' : 'none';
    } else if (event.type === 'test:pass') {
      outcome = leaf && !isSuite && !isFileWrapper ? 'passed' : 'none';
    } else {
      outcome = descendantFailed ? 'none' : 'failed';
    }

    if (outcome === 'passed') passed += 1;
    if (outcome === 'skipped') skipped += 1;
    if (outcome === 'failed') failed += 1;
    if (outcome === 'failed' || descendantFailed) state.failedBelow[n] = true;

    const error = details.error;
    const reportable =
      event.type === 'test:fail' &&
      outcome !== 'skipped' &&
      (error === undefined || error === null || error.failureType !== SUBTESTS_FAILED);
    if (reportable) {
      const path = isFileWrapper
        ? displayFile(data.file)
        : [displayFile(data.file), ...state.names.slice(0, n), data.name].join(' › ');
      let text = `✖ ${path}\n${indent(formatError(error), '    ')}\n`;
      if (isFileWrapper && state.stderr.length > 0) {
        text += `    stderr:\n${indent(state.stderr.join('').trimEnd(), '      ')}\n`;
      }
      failures.push(text);
    }
  }

  if (failures.length > 0) {
    yield `\nfailure details:\n\n${failures.join('\n')}\n`;
  }
  yield `${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}
