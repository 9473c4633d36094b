#!/usr/bin/env node
// A scripted model server on loopback for the real coding-agent CLIs:
// the Anthropic Messages API (POST /v1/messages, SSE stream or plain JSON,
// for Claude Code) and the OpenAI Responses API (POST /v1/responses, SSE,
// for Codex). Node's own http module only; no dependencies.
//
//   node modelfake.js --script FILE [--port N] [--port-file FILE] [--record FILE]
//
// It prints "modelfake listening PORT" once ready, records every request
// as one JSON line in the record file (api, model, scenario, turn, status,
// usage reported, the prompt text), and answers from the script:
//
//   {"scenarios": [
//     {"name": "REQ-001 first", "when": ["REQ-001"], "unless": ["Attempt: 2"],
//      "require": ["undeclared"],        // the prompt must contain these, or 400
//      "model": "claude-haiku-4-5",      // the request must ask for this model, or 400
//      "fail": [429, 529],               // the first requests get these statuses
//      "hang": true,                     // never answer (a time limit must end it)
//      "turns": [
//        {"write": "features/a.c", "content": "...", "usage": {"input_tokens": 100, "output_tokens": 20}},
//        {"edit": "features/a.c", "old": "x", "new": "y", "usage": {...}},
//        {"run": "make", "usage": {...}},
//        {"tool": "mcp__orch__status", "input": {"id": "REQ-1"}},  // any tool the request offers, by name
//        {"text": "Done.", "usage": {...}}]}],
//    "default": {"text": "ok"}}
//
// A scenario is chosen by the text of the request's user messages (tool
// results left out): all of "when" present, none of "unless". The turn is
// the number of tool results the request carries, so the server keeps no
// conversation state (a retried request gets the same answer); only "fail"
// counts requests. After the last turn it answers the last text turn again,
// or "Done.". Requests no scenario matches (titles, quota checks) get the
// default text with zero usage, so the usage a test adds up is exactly the
// scenarios' own.
'use strict';
const http = require('http');
const fs = require('fs');

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
if (!args.script) {
  process.stderr.write('usage: modelfake.js --script FILE [--port N] [--port-file FILE] [--record FILE]\n');
  process.exit(2);
}
const script = JSON.parse(fs.readFileSync(args.script, 'utf8'));
const scenarios = script.scenarios || [];
const failed = new Map(); // scenario index -> requests failed so far
let seq = 0;

function record(entry) {
  if (args.record) fs.appendFileSync(args.record, JSON.stringify(entry) + '\n');
}

function textOf(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((b) => (b && (b.type === 'text' || b.type === 'input_text') ? b.text : '')).join('\n');
}

// What the scenario is matched against, the tool results so far, the
// system text and the tool names, per API.
function readAnthropic(body) {
  let prompt = '', results = 0;
  const outputs = [];
  for (const m of body.messages || []) {
    if (m.role !== 'user') continue;
    prompt += textOf(m.content) + '\n';
    if (!Array.isArray(m.content)) continue;
    for (const b of m.content.filter((x) => x && x.type === 'tool_result')) {
      results++;
      outputs.push(textOf(b.content).slice(0, 8000));
    }
  }
  const system = Array.isArray(body.system) ? textOf(body.system) : (body.system || '');
  return {prompt, results, outputs, system, tools: (body.tools || []).map((t) => t.name)};
}

function readOpenAI(body) {
  let prompt = '', results = 0;
  for (const it of body.input || []) {
    if (it.type === 'function_call_output' || it.type === 'custom_tool_call_output') results++;
    else if ((it.type === 'message' || !it.type) && it.role === 'user') prompt += textOf(it.content) + '\n';
  }
  return {prompt, results, system: body.instructions || '', tools: (body.tools || []).map((t) => t.name || t.type)};
}

function pick(prompt) {
  for (let i = 0; i < scenarios.length; i++) {
    const s = scenarios[i];
    const when = [].concat(s.when || []), unless = [].concat(s.unless || []);
    if (when.every((w) => prompt.includes(w)) && !unless.some((u) => prompt.includes(u))) return i;
  }
  return -1;
}

function usageOf(turn) {
  const u = (turn && turn.usage) || {};
  return {input_tokens: u.input_tokens || 0, output_tokens: u.output_tokens || 0,
          cache_read_input_tokens: u.cache_read_input_tokens || 0,
          cache_creation_input_tokens: u.cache_creation_input_tokens || 0};
}

// The working directory Claude Code states in its system prompt: its file
// tools want absolute paths.
function workdir(system) {
  const m = /Working directory: *(\S+)/.exec(system);
  return m ? m[1] : '';
}

function shellQuote(s) { return "'" + String(s).replace(/'/g, "'\\''") + "'"; }

// A turn as a Claude Code tool call: {name, input}, or null for text.
function claudeCall(turn, info) {
  const abs = (p) => (p.startsWith('/') || !workdir(info.system) ? p : workdir(info.system) + '/' + p);
  if (turn.tool) return {name: turn.tool, input: turn.input || {}};
  if (turn.write) return {name: 'Write', input: {file_path: abs(turn.write), content: turn.content || ''}};
  if (turn.edit) return {name: 'Bash', input: {command: editCommand(turn), description: 'edit ' + turn.edit}};
  if (turn.run) return {name: 'Bash', input: {command: turn.run, description: 'run a command'}};
  return null;
}

// Editing as a command: both CLIs run it the same way, and neither needs
// to have read the file first.
function editCommand(turn) {
  return 'node -e ' + shellQuote("const fs=require('fs');const [f,a,b]=process.argv.slice(1);" +
    "const t=fs.readFileSync(f,'utf8');if(!t.includes(a))process.exit(1);fs.writeFileSync(f,t.replace(a,b))") +
    ' ' + shellQuote(turn.edit) + ' ' + shellQuote(turn.old) + ' ' + shellQuote(turn.new);
}

function commandOf(turn) {
  if (turn.write) {
    const dir = turn.write.includes('/') ? turn.write.replace(/\/[^/]*$/, '') : '.';
    return 'mkdir -p ' + shellQuote(dir) + ' && printf %s ' + shellQuote(turn.content || '') + ' > ' + shellQuote(turn.write);
  }
  if (turn.edit) return editCommand(turn);
  return turn.run;
}

// A turn as a Codex function call, through whichever shell tool the
// request offers.
function codexCall(turn, info) {
  if (!turn.write && !turn.edit && !turn.run) return null;
  const cmd = commandOf(turn);
  if (info.tools.includes('exec_command')) return {name: 'exec_command', args: {cmd}};
  if (info.tools.includes('shell_command')) return {name: 'shell_command', args: {command: cmd}};
  return {name: 'shell', args: {command: ['bash', '-lc', cmd]}};
}

function sse(res, events) {
  res.writeHead(200, {'content-type': 'text/event-stream', 'cache-control': 'no-cache'});
  for (const [name, data] of events) res.write('event: ' + name + '\ndata: ' + JSON.stringify(data) + '\n\n');
  res.end();
}

function answerAnthropic(res, body, turn, info, n) {
  const call = turn ? claudeCall(turn, info) : null;
  const u = usageOf(turn);
  const id = 'msg_fake_' + n;
  const model = body.model || 'claude-fake';
  const block = call ? {type: 'tool_use', id: 'toolu_fake_' + n, name: call.name, input: call.input}
                     : {type: 'text', text: (turn && turn.text) || 'Done.'};
  const stop = call ? 'tool_use' : 'end_turn';
  if (!body.stream) {
    res.writeHead(200, {'content-type': 'application/json'});
    res.end(JSON.stringify({id, type: 'message', role: 'assistant', model, content: [block], stop_reason: stop,
                            stop_sequence: null, usage: u}));
    return;
  }
  const start = {...block};
  const events = [['message_start', {type: 'message_start', message: {id, type: 'message', role: 'assistant', model,
    content: [], stop_reason: null, stop_sequence: null,
    usage: {...u, output_tokens: 1}}}]];
  if (call) {
    start.input = {};
    events.push(['content_block_start', {type: 'content_block_start', index: 0, content_block: start}]);
    events.push(['content_block_delta', {type: 'content_block_delta', index: 0,
      delta: {type: 'input_json_delta', partial_json: JSON.stringify(call.input)}}]);
  } else {
    start.text = '';
    events.push(['content_block_start', {type: 'content_block_start', index: 0, content_block: start}]);
    events.push(['content_block_delta', {type: 'content_block_delta', index: 0,
      delta: {type: 'text_delta', text: block.text}}]);
  }
  events.push(['content_block_stop', {type: 'content_block_stop', index: 0}]);
  events.push(['message_delta', {type: 'message_delta', delta: {stop_reason: stop, stop_sequence: null},
    usage: {output_tokens: u.output_tokens}}]);
  events.push(['message_stop', {type: 'message_stop'}]);
  sse(res, events);
}

function answerOpenAI(res, body, turn, info, n) {
  const call = turn ? codexCall(turn, info) : null;
  const u = usageOf(turn);
  const id = 'resp_fake_' + n;
  const item = call
    ? {type: 'function_call', id: 'fc_fake_' + n, call_id: 'call_fake_' + n, name: call.name,
       arguments: JSON.stringify(call.args), status: 'completed'}
    : {type: 'message', id: 'msg_fake_' + n, role: 'assistant', status: 'completed',
       content: [{type: 'output_text', text: (turn && turn.text) || 'Done.', annotations: []}]};
  const base = {id, object: 'response', created_at: Math.floor(Date.now() / 1000), model: body.model || 'gpt-fake'};
  const usage = {input_tokens: u.input_tokens, input_tokens_details: {cached_tokens: u.cache_read_input_tokens},
                 output_tokens: u.output_tokens, output_tokens_details: {reasoning_tokens: 0},
                 total_tokens: u.input_tokens + u.output_tokens};
  sse(res, [
    ['response.created', {type: 'response.created', response: {...base, status: 'in_progress', output: []}}],
    ['response.output_item.added', {type: 'response.output_item.added', output_index: 0,
      item: call ? {...item, arguments: '', status: 'in_progress'} : {...item, content: [], status: 'in_progress'}}],
    ['response.output_item.done', {type: 'response.output_item.done', output_index: 0, item}],
    ['response.completed', {type: 'response.completed', response: {...base, status: 'completed', output: [item], usage}}],
  ]);
}

function handle(req, res, raw) {
  const n = ++seq;
  const api = req.url.startsWith('/v1/messages') ? 'anthropic' : req.url.startsWith('/v1/responses') ? 'openai' : '';
  let body = {};
  try { body = raw.length ? JSON.parse(raw) : {}; } catch (e) { body = {}; }
  const entry = {n, t: Date.now(), method: req.method, path: req.url, api, model: body.model || '',
                 stream: !!body.stream};
  if (req.method !== 'POST' || !api || req.url.includes('count_tokens')) {
    entry.status = req.url.includes('count_tokens') ? 200 : 404;
    record(entry);
    res.writeHead(entry.status, {'content-type': 'application/json'});
    res.end(entry.status === 200 ? '{"input_tokens":1}' : '{"error":"not found"}');
    return;
  }
  const info = api === 'anthropic' ? readAnthropic(body) : readOpenAI(body);
  const i = pick(info.prompt);
  const s = i >= 0 ? scenarios[i] : null;
  entry.scenario = s ? s.name || String(i) : null;
  entry.turn = info.results;
  entry.prompt = info.prompt;
  if (info.outputs && info.outputs.length) entry.toolResults = info.outputs;
  if (s && s.fail && (failed.get(i) || 0) < s.fail.length) {
    const status = s.fail[failed.get(i) || 0];
    failed.set(i, (failed.get(i) || 0) + 1);
    entry.status = status;
    record(entry);
    res.writeHead(status, {'content-type': 'application/json', 'retry-after': '0'});
    res.end(JSON.stringify(api === 'anthropic'
      ? {type: 'error', error: {type: status === 429 ? 'rate_limit_error' : 'overloaded_error', message: 'scripted ' + status}}
      : {error: {type: 'rate_limit_exceeded', code: 'rate_limit_exceeded', message: 'scripted ' + status}}));
    return;
  }
  if (s && s.hang) {
    entry.status = 'hang';
    record(entry);
    return; // the socket stays open until the client goes away
  }
  const missing = s ? [].concat(s.require || []).filter((r) => !info.prompt.includes(r)) : [];
  if (s && s.model && body.model !== s.model) missing.push('the model ' + s.model + ' (asked for ' + body.model + ')');
  if (missing.length) {
    entry.status = 400;
    entry.missing = missing;
    record(entry);
    res.writeHead(400, {'content-type': 'application/json'});
    res.end(JSON.stringify({type: 'error', error: {type: 'invalid_request_error',
      message: 'the prompt lacks: ' + missing.join(' | ')}}));
    return;
  }
  let turn;
  if (s) {
    const turns = s.turns || [];
    turn = info.results < turns.length ? turns[info.results]
                                       : {text: (turns.length && turns[turns.length - 1].text) || 'Done.'};
    if (info.results >= turns.length) turn = {text: turn.text}; // no usage twice
  } else {
    turn = {text: (script.default && script.default.text) || 'ok'};
  }
  entry.status = 200;
  entry.usage = usageOf(turn);
  entry.call = turn.write ? 'write' : turn.edit ? 'edit' : turn.run ? 'run' : 'text';
  record(entry);
  if (api === 'anthropic') answerAnthropic(res, body, turn, info, n);
  else answerOpenAI(res, body, turn, info, n);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
});
server.listen(Number(args.port || 0), '127.0.0.1', () => {
  const port = server.address().port;
  if (args['port-file']) fs.writeFileSync(args['port-file'], String(port));
  process.stdout.write('modelfake listening ' + port + '\n');
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
