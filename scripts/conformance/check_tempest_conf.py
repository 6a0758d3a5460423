#!/usr/bin/python3
"""Loads a tempest.conf through the installed Tempest's own option registry and
prints one JSON document: {"tempest": VERSION, "unknown": [...], "invalid": [...]}.

oslo.config silently ignores options it does not know, so a misspelt or removed
option would quietly fall back to its default; this check makes that visible.
Values are read back too, so a bad type (e.g. "maybe" for a bool) shows up
as invalid instead of as a confusing error inside every test class.
"""
import json
import sys


def tempest_version():
    try:
        from importlib.metadata import version
        return version('tempest')
    except Exception:  # informational only; never worth failing the check for
        return 'unknown'


def main(path):
    from oslo_config import cfg
    from tempest import config

    config.CONF.set_config_path(path)
    try:
        config.CONF.auth  # noqa: B018 - first attribute access loads the file and registers all options
    except Exception as e:  # Tempest reads every value while loading: a bad one stops it here
        json.dump({'tempest': tempest_version(), 'unknown': [], 'invalid': [str(e)]}, sys.stdout)
        sys.stdout.write('\n')
        return
    conf = cfg.CONF

    # Read the sections ourselves: configparser would fold [DEFAULT] into every section.
    sections = {}
    current = None
    with open(path, encoding='utf-8') as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in '#;':
                continue
            if line.startswith('[') and line.endswith(']'):
                current = line[1:-1]
                sections.setdefault(current, [])
            elif '=' in line and current is not None:
                sections[current].append(line.split('=', 1)[0].strip())

    unknown, invalid = [], []
    for section, keys in sections.items():
        for key in keys:
            name = key if section == 'DEFAULT' else '%s.%s' % (section, key)
            try:
                group = conf if section == 'DEFAULT' else conf[section]
                group[key]  # noqa: B018 - reading converts the value and raises on a bad one
            except (cfg.NoSuchOptError, cfg.NoSuchGroupError, KeyError, AttributeError):
                unknown.append(name)
            except (ValueError, cfg.ConfigFileValueError) as e:
                invalid.append('%s: %s' % (name, e))
    json.dump({'tempest': tempest_version(), 'unknown': unknown, 'invalid': invalid}, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.stderr.write('usage: check_tempest_conf.py TEMPEST_CONF\n')
        sys.exit(2)
    main(sys.argv[1])
