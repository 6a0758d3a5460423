#!/usr/bin/python3
"""Reads a subunit stream (v2, as `stestr last --subunit` writes it, or v1, as
stestr keeps an unfinished run in .stestr/tmp*) and prints one JSON document:

    {"tests": [{"id": ..., "status": ..., "reason": ..., "traceback": ...}]}

status is the final subunit status (success, fail, skip, xfail, uxsuccess,
inprogress = started but never finished). Only the `reason` and `traceback`
attachments are kept: the other ones (pythonlogging, stdout) are large and the
full run.log has them. Counting and summarising is done by the caller.
"""
import json
import sys

import subunit
import testtools

# Bounded so a test that dumps megabytes into its traceback cannot bloat the report.
MAX_TEXT = 20000


def text(content):
    if content is None:
        return None
    data = b''.join(content.iter_bytes())
    out = data.decode('utf-8', 'replace')
    return out if len(out) <= MAX_TEXT else out[:MAX_TEXT] + '\n[...truncated]'


def main(path):
    tests = []

    def on_test(t):
        # 'exists' events come from test listing, not from running a test.
        if t['status'] in ('exists', None, 'unknown'):
            return
        details = t.get('details') or {}
        tests.append({
            'id': t['id'],
            'status': t['status'],
            'reason': text(details.get('reason')),
            'traceback': text(details.get('traceback')),
        })

    with open(path, 'rb') as stream:
        first = stream.read(1)
        stream.seek(0)
        if first == b'\xb3':  # the v2 packet signature
            result = testtools.StreamToDict(on_test)
            case = subunit.ByteStreamToStreamResult(stream, non_subunit_name='stdout')
        else:
            # v1 → StreamResult events, the way stestr transcodes its own files.
            result = testtools.ExtendedToStreamDecorator(testtools.StreamToDict(on_test))
            case = subunit.ProtocolTestCase(stream)
        result.startTestRun()
        try:
            case.run(result)
        finally:
            # Flushes tests that started but never ended, as status 'inprogress'.
            result.stopTestRun()
    json.dump({'tests': tests}, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.stderr.write('usage: subunit_results.py STREAM_FILE\n')
        sys.exit(2)
    main(sys.argv[1])
