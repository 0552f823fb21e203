#!/usr/bin/env python3
"""Lists functions in src/ longer than a limit (default 120 lines), by brace
matching from each `fn` line; strings and comments are skipped roughly, which
is enough for rustfmt'd code. Exit status 1 when any is found."""
import pathlib, re, sys

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 120
FN = re.compile(r'^\s*(pub(\([^)]*\))?\s+)?(async\s+)?(const\s+)?(unsafe\s+)?fn\s+(\w+)')

def strip(line):
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])'", "' '", line)
    return line.split('//')[0]

found = []
for path in sorted(pathlib.Path('src').rglob('*.rs')):
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = FN.match(lines[i])
        if not m:
            i += 1
            continue
        depth, opened, j = 0, False, i
        while j < len(lines):
            t = strip(lines[j])
            if not opened and ';' in t and '{' not in t:
                break  # a declaration without body
            depth += t.count('{') - t.count('}')
            opened = opened or '{' in t
            if opened and depth <= 0:
                break
            j += 1
        n = j - i + 1
        if opened and n > LIMIT:
            found.append((n, f'{path}:{i + 1}', m.group(6)))
        i += 1
for n, where, name in sorted(found, reverse=True):
    print(f'{n:5} {where} {name}')
sys.exit(1 if found else 0)
