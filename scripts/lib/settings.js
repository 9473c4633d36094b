#!/usr/bin/env node
// The settings file of `scripts/run.sh --repo` (var/repos/<name>/orchestrator.json),
// read and written for the shell, which has no JSON parser of its own. Node
// is there wherever the agents' CLIs are (scripts/install-agent-clis.sh).
//
//   settings.js flat FILE          every value as one KEY=VALUE line (keys
//                                  joined by '.', arrays and objects under
//                                  "steps" as one JSON line); the shell reads
//                                  them into an array, it never evaluates them
//   settings.js agents FILE SPEC   sets the CLI of every agent type from SPEC
//                                  (claude | codex | TYPE=CLI,... ), keeps the rest
//   settings.js projects FILE OUT  the verifier's projects file for the project
//
// A value holding a newline is refused (exit 2): a line is one setting.
'use strict';
const fs = require('fs');

const [cmd, file, arg] = process.argv.slice(2);
function die(msg) {
  process.stderr.write('run.sh: ' + file + ': ' + msg + '\n');
  process.exit(2);
}
let s;
try {
  s = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch (e) {
  die('cannot read it as JSON (' + e.message + '); fix it or remove it to have it written again');
}

function flat(o, prefix, out) {
  for (const [k, v] of Object.entries(o)) {
    if (k.startsWith('_')) continue; // comments
    const key = prefix ? prefix + '.' + k : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && k !== 'steps') flat(v, key, out);
    else {
      const text = typeof v === 'object' ? JSON.stringify(v) : String(v);
      if (text.includes('\n')) die('the value of ' + key + ' holds a newline');
      out.push(key + '=' + text);
    }
  }
  return out;
}

if (cmd === 'flat') {
  process.stdout.write(flat(s, '', []).join('\n') + '\n');
} else if (cmd === 'agents') {
  let def = null;
  const per = {};
  for (const part of String(arg || '').split(',').filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq > 0) per[part.slice(0, eq)] = part.slice(eq + 1);
    else def = part;
  }
  for (const [type, a] of Object.entries(s.agents || {})) {
    const cli = per[type] || def;
    if (cli && cli !== a.cli) {
      a.cli = cli;
      // a model named for one CLI means nothing to another
      a.model = '';
      a.cheap_model = cli === 'claude' ? 'claude-haiku-4-5' : '';
    }
  }
  fs.writeFileSync(file + '.new', JSON.stringify(s, null, 2) + '\n');
  fs.renameSync(file + '.new', file);
} else if (cmd === 'projects') {
  const p = s.project || {};
  if (!p.name || !p.copy || !p.base || !Array.isArray(p.steps) || !p.steps.length)
    die('project needs name, copy, base and at least one step');
  const out = {projects: {[p.name]: {repo: p.copy, base: p.base, steps: p.steps}}};
  fs.writeFileSync(arg, JSON.stringify(out, null, 2) + '\n');
} else {
  die('unknown command ' + cmd);
}
