#!/usr/bin/env node
// Generates the op bindings from src/torch/ops.def:
//   native/generated/ops_<k>.cpp    C++ bindings (Node-API -> ATen), split for parallel builds
//   src/torch/generated/ops.ts      typed Tensor methods, functions and the native interface
//   src/torch/generated/op-table.ts op metadata that tests enumerate
// Run by the build (`npm run gen`); outputs are rewritten only when they change.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEF = join(root, 'src/torch/ops.def');
const CPP_PARTS = 3;

// ---------------------------------------------------------------------------------------------
// Parsing

const camel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

function splitTopLevel(s, sep = ',') {
  const out = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(' || ch === '[') depth++;
    if (ch === ')' || ch === ']') depth--;
    if (ch === sep && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function parseArg(text, kwOnly) {
  const m = text.match(/^(\S+)\s+(\w+)(?:=(.+))?$/);
  if (!m) throw new Error(`cannot parse argument '${text}'`);
  const [, type, name, dflt] = m;
  return { type, name, default: dflt, kwOnly, optional: dflt !== undefined || type.endsWith('?') || type === 'TensorOptions' };
}

function parseLine(line, lineNo) {
  const m = line.match(/^([\w.]+)\((.*)\)\s*->\s*(\S.*?)\s+\[(.*)\]\s*$/);
  if (!m) throw new Error(`ops.def:${lineNo}: cannot parse '${line}'`);
  const [, fullName, argText, ret, flagText] = m;
  const [name, overload] = fullName.split('.');
  const args = [];
  let kw = false;
  for (const a of splitTopLevel(argText)) {
    if (a === '*') {
      kw = true;
      continue;
    }
    args.push(parseArg(a, kw));
  }
  const flags = new Set();
  let cpp = null;
  let dtype = null;
  const cppAt = flagText.indexOf('cpp=');
  const plain = cppAt >= 0 ? flagText.slice(0, cppAt) : flagText;
  if (cppAt >= 0) cpp = flagText.slice(cppAt + 4).trim();
  for (const f of plain.trim().split(/\s+/).filter(Boolean)) {
    if (f.startsWith('dtype=')) dtype = f.slice(6);
    else flags.add(f);
  }
  return { name, overload: overload ?? null, args, ret: ret.trim(), flags, cpp, dtype, line: lineNo };
}

export function parseDef(text) {
  const ops = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    ops.push(parseLine(line, i + 1));
  });
  return ops;
}

// ---------------------------------------------------------------------------------------------
// C++

const CPP_TYPES = {
  Tensor: (a, i) => `at::Tensor ${a.name} = a.tensor(${i});`,
  'Tensor?': (a, i) => `std::optional<at::Tensor> ${a.name} = a.optTensor(${i});`,
  'Tensor[]': (a, i) => `std::vector<at::Tensor> ${a.name} = a.tensorList(${i});`,
  'Tensor?[]': (a, i) => `c10::List<std::optional<at::Tensor>> ${a.name} = a.optTensorList(${i});`,
  'Scalar[]': (a, i) => `std::vector<at::Scalar> ${a.name}; for (double v : a.floatList(${i})) ${a.name}.emplace_back(v);`,
  Scalar: (a, i, d) => `at::Scalar ${a.name} = ${d !== undefined ? `a.has(${i}) ? a.scalar(${i}) : at::Scalar(${d})` : `a.scalar(${i})`};`,
  'Scalar?': (a, i, d) =>
    `std::optional<at::Scalar> ${a.name} = a.has(${i}) ? std::optional<at::Scalar>(a.scalar(${i})) : ${d && d !== 'None' ? `std::optional<at::Scalar>(at::Scalar(${d}))` : 'std::nullopt'};`,
  int: (a, i, d) => `int64_t ${a.name} = ${d !== undefined ? `a.has(${i}) ? a.int64(${i}) : ${d}` : `a.int64(${i})`};`,
  'int?': (a, i, d) => `std::optional<int64_t> ${a.name} = a.has(${i}) ? std::optional<int64_t>(a.int64(${i})) : ${d && d !== 'None' ? d : 'std::nullopt'};`,
  float: (a, i, d) => `double ${a.name} = ${d !== undefined ? `a.has(${i}) ? a.float64(${i}) : ${d}` : `a.float64(${i})`};`,
  'float?': (a, i, d) => `std::optional<double> ${a.name} = a.has(${i}) ? std::optional<double>(a.float64(${i})) : ${d && d !== 'None' ? d : 'std::nullopt'};`,
  bool: (a, i, d) => `bool ${a.name} = ${d !== undefined ? `a.has(${i}) ? a.boolean(${i}) : ${d}` : `a.boolean(${i})`};`,
  'bool?': (a, i) => `std::optional<bool> ${a.name} = a.has(${i}) ? std::optional<bool>(a.boolean(${i})) : std::nullopt;`,
  str: (a, i, d) => `std::string ${a.name} = ${d !== undefined ? `a.has(${i}) ? a.string(${i}) : std::string(${d})` : `a.string(${i})`};`,
  'str?': (a, i) =>
    `std::string ${a.name}_s; std::optional<c10::string_view> ${a.name}; if (a.has(${i})) { ${a.name}_s = a.string(${i}); ${a.name} = ${a.name}_s; }`,
  ScalarType: (a, i) => `at::ScalarType ${a.name} = a.dtype(${i});`,
  'ScalarType?': (a, i) => `std::optional<at::ScalarType> ${a.name} = a.has(${i}) ? std::optional<at::ScalarType>(a.dtype(${i})) : std::nullopt;`,
  Device: (a, i) => `c10::Device ${a.name} = a.device(${i});`,
  Reduction: (a, i) => `int64_t ${a.name} = a.reduction(${i});`,
  TensorOptions: (a, i, _d, op) =>
    `TensorOptionsArg ${a.name}_ = a.tensorOptions(${i});` +
    (op.dtype ? ` if (!${a.name}_.options.has_dtype()) ${a.name}_.options = ${a.name}_.options.dtype(at::${cppDtype(op.dtype)});` : '') +
    ` const at::TensorOptions& ${a.name} = ${a.name}_.options;`,
};

function cppDtype(d) {
  return { int64: 'kLong', float32: 'kFloat', float64: 'kDouble', int32: 'kInt', bool: 'kBool' }[d];
}

function cppDefault(arg) {
  const d = arg.default;
  if (d === undefined) return undefined;
  if (d === 'None') return 'None';
  if (d === 'true' || d === 'false') return d;
  if (d.startsWith('"')) return d;
  if (d === '[]') return '{}';
  return d;
}

function cppArgDecl(arg, i, op) {
  const m = arg.type.match(/^int\[(\d*)\](\?)?$/);
  if (m || arg.type === 'int...') {
    const n = m && m[1] ? Number(m[1]) : 0;
    const opt = m && m[2] === '?';
    const d = arg.default;
    if (arg.type === 'int...') return `std::vector<int64_t> ${arg.name} = a.intList(${i});`;
    if (opt) {
      const fill = d && d !== 'None' ? `std::vector<int64_t>(${n || 1}, ${d})` : null;
      const holder = `std::optional<std::vector<int64_t>> ${arg.name}_v = a.has(${i}) ? std::optional<std::vector<int64_t>>(a.intList(${i}, ${n})) : ${fill ? `std::optional<std::vector<int64_t>>(${fill})` : 'std::nullopt'};`;
      return n
        ? holder.replace(`${arg.name}_v`, arg.name)
        : `${holder} at::OptionalIntArrayRef ${arg.name} = ${arg.name}_v ? at::OptionalIntArrayRef(*${arg.name}_v) : at::OptionalIntArrayRef();`;
    }
    if (d === undefined) return `std::vector<int64_t> ${arg.name} = a.intList(${i}, ${n});`;
    const fill = d === '[]' ? 'std::vector<int64_t>{}' : `std::vector<int64_t>(${n || 1}, ${d})`;
    return `std::vector<int64_t> ${arg.name} = a.has(${i}) ? a.intList(${i}, ${n}) : ${fill};`;
  }
  if (arg.type === 'Tensor|Scalar') return null; // handled by branching
  const f = CPP_TYPES[arg.type];
  if (!f) throw new Error(`ops.def:${op.line}: unknown argument type ${arg.type}`);
  return f(arg, i, cppDefault(arg), op);
}

function cppCall(op) {
  const names = op.args.map((a) => a.name);
  if (op.cpp) return op.cpp;
  return `at::${op.name}(${names.join(', ')})`;
}

function cppInplaceCall(op) {
  const [self, ...rest] = op.args.map((a) => a.name);
  return `${self}.${op.name}_(${rest.join(', ')})`;
}

function cppReturn(op, call) {
  const r = op.ret;
  const opts = op.args.find((a) => a.type === 'TensorOptions');
  if (r === 'self') return `${call}; return a.undefined();`;
  if (r === 'bool') return `return a.ret(static_cast<bool>(${call}));`;
  if (r === 'Scalar') return `return a.retScalar(${call});`;
  if (opts) return `return a.ret(${opts.name}_.finish(${call}));`;
  return `return a.ret(${call});`;
}

function nativeName(op) {
  return op.overload ? `${op.name}_${op.overload}` : op.name;
}

function cppBody(op, call) {
  // Tensor|Scalar arguments: one branch per combination, each calling the matching ATen overload.
  const mixed = op.args.map((a, i) => [a, i]).filter(([a]) => a.type === 'Tensor|Scalar');
  const lines = [];
  const emit = (k, bound) => {
    if (k === mixed.length) {
      const decls = bound.map(([a, i, isT]) => (isT ? `at::Tensor ${a.name} = a.tensor(${i});` : `at::Scalar ${a.name} = a.scalar(${i});`));
      lines.push(`{ ${decls.join(' ')} ${cppReturn(op, call)} }`);
      return;
    }
    const [a, i] = mixed[k];
    lines.push(`if (a.isTensor(${i})) `);
    emit(k + 1, [...bound, [a, i, true]]);
    lines.push(' else ');
    emit(k + 1, [...bound, [a, i, false]]);
  };
  emit(0, []);
  return lines.join('');
}

function cppFunction(op, { inplace = false } = {}) {
  const fname = inplace ? `${op.name}_` : nativeName(op);
  const decls = op.args.map((a, i) => cppArgDecl(a, i, op)).filter(Boolean);
  const call = inplace ? cppInplaceCall(op) : cppCall(op);
  const inplaceOp = inplace ? { ...op, ret: 'self' } : op;
  // Writers of self refuse tensors that an async op in flight is reading.
  if (inplaceOp.ret === 'self') decls.push(`checkNotInFlight(${op.args[0].name});`);
  return cppWrapper(op, fname, decls, cppBody(inplaceOp, call));
}

function cppWrapper(op, fname, decls, body, opName = fname) {
  const names = op.args.map((a) => `"${a.name}"`).join(', ');
  return `static napi_value op_${fname}(napi_env env, napi_callback_info info) {
  Args a(env, info, "${opName}", {${names}});
  try {
    ${decls.join('\n    ')}
    ${body}
  } catch (...) {
    return a.fail();
  }
}
`;
}

// Argument types whose C++ values own their data, so the worker's lambda may copy them.
const ASYNC_SAFE = /^(Tensor\??|Tensor\[\]|int\??|float\??|bool\??|str|Scalar|ScalarType|Reduction|int\[\d*\])$/;

// `<op>Async`: arguments are read here, on the JS thread; the ATen call runs on a worker.
// Errors carry the sync op's name, so messages read the same.
function cppAsyncFunction(op) {
  const bad = op.args.find((a) => !ASYNC_SAFE.test(a.type) || a.type === 'Tensor|Scalar');
  if (bad) throw new Error(`ops.def:${op.line}: async ops take by-value argument types only (${bad.type} ${bad.name} is a reference)`);
  if (!/^Tensor(\(\w+\))?$/.test(op.ret)) throw new Error(`ops.def:${op.line}: async ops must return one Tensor`);
  const decls = op.args.map((a, i) => cppArgDecl(a, i, op));
  const tensors = op.args.filter((a) => /^Tensor(\?|\[\])?$/.test(a.type)).map((a) => a.name);
  const body = `return startAsync(a, inputsOf(${tensors.join(', ')}), [=]() { return ${cppCall(op)}; });`;
  return cppWrapper(op, `${nativeName(op)}Async`, decls, body, nativeName(op));
}

function includesFor(ops) {
  const inc = new Set();
  for (const op of ops) {
    const text = op.cpp ?? `at::${op.name}(`;
    for (const m of text.matchAll(/at::(\w+)\(/g)) {
      // In-place variants (at::_foreach_add_) live in their base op's header.
      if (!['Scalar', 'OptionalIntArrayRef', 'Tensor'].includes(m[1])) inc.add(m[1].replace(/_$/, ''));
    }
  }
  return [...inc].sort().map((n) => `#include <ATen/ops/${n}.h>`);
}

function hashName(name) {
  let h = 2166136261;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h;
}

function genCpp(ops) {
  const parts = Array.from({ length: CPP_PARTS }, () => []);
  // A stable part per op name: adding an op recompiles one part, not all of them.
  for (const op of ops) parts[hashName(op.name) % CPP_PARTS].push(op);
  const files = {};
  parts.forEach((part, k) => {
    const fns = [];
    const entries = [];
    for (const op of part) {
      fns.push(cppFunction(op));
      entries.push(`{"${nativeName(op)}", op_${nativeName(op)}}`);
      if (op.flags.has('inplace')) {
        fns.push(cppFunction(op, { inplace: true }));
        entries.push(`{"${op.name}_", op_${op.name}_}`);
      }
      if (op.flags.has('async')) {
        fns.push(cppAsyncFunction(op));
        entries.push(`{"${nativeName(op)}Async", op_${nativeName(op)}Async}`);
      }
    }
    files[`ops_${k}.cpp`] = `// Generated by scripts/gen-ops.mjs from src/torch/ops.def. Do not edit.
#include "../common.h"
#include "../async.h"

#include <ATen/core/List.h>
#include <ATen/TensorOperators.h>
${includesFor(part).join('\n')}

namespace prior {
namespace {

${fns.join('\n')}
const OpEntry kEntries[] = {
  ${entries.join(',\n  ')}
};

}  // namespace

void registerGeneratedOps${k}(napi_env env, napi_value exports) { defineAll(env, exports, kEntries, std::size(kEntries)); }

}  // namespace prior
`;
  });
  files['ops_register.cpp'] = `// Generated by scripts/gen-ops.mjs. Do not edit.
#include "../common.h"

namespace prior {
${parts.map((_, k) => `void registerGeneratedOps${k}(napi_env env, napi_value exports);`).join('\n')}
void registerGeneratedOps(napi_env env, napi_value exports) {
${parts.map((_, k) => `  registerGeneratedOps${k}(env, exports);`).join('\n')}
}
}  // namespace prior
`;
  return files;
}

// ---------------------------------------------------------------------------------------------
// TypeScript

function tsScalarType(type) {
  const m = type.match(/^int\[(\d*)\](\?)?$/);
  if (m) return 'number | readonly number[]'; // one integer means [n] (or n repeated for int[N])
  return {
    Tensor: 'Tensor',
    'Tensor?': 'Tensor | null',
    'Tensor[]': 'readonly Tensor[]',
    'Tensor?[]': 'readonly (Tensor | null)[]',
    'Scalar[]': 'readonly number[]',
    Scalar: 'number | boolean',
    'Scalar?': 'number | boolean | null',
    'Tensor|Scalar': 'Tensor | number | boolean',
    int: 'number',
    'int?': 'number | null',
    float: 'number',
    'float?': 'number | null',
    bool: 'boolean',
    'bool?': 'boolean | null',
    str: 'string',
    'str?': 'string | null',
    ScalarType: 'DType',
    'ScalarType?': 'DType | null',
    Device: 'DeviceLike',
    Reduction: "'mean' | 'sum' | 'none'",
  }[type];
}

// `n` overrides how the value is reached (an options-object field): tensors there need handles too.
function tsValue(arg, n = camel(arg.name)) {
  switch (arg.type) {
    case 'Tensor':
    case 'Tensor?':
    case 'Tensor|Scalar':
      return `h(${n})`;
    case 'Tensor[]':
    case 'Tensor?[]':
      return `hs(${n})`;
    default:
      return n;
  }
}

const isTensorType = (t) => /^Tensor(\?|\[\]|\|Scalar)?$/.test(t);

// The dtype generic a signature needs, and the TS type of its result.
function tsSignatureParts(op, { method }) {
  const generics = [];
  const selfArg = op.args.find((a) => a.name === 'self') ?? op.args.find((a) => a.name === 'input') ?? op.args.find((a) => isTensorType(a.type));
  const dOwner = method ? null : selfArg;
  if (dOwner) generics.push('D extends DType = DType');
  const other = op.args.find((a) => a !== selfArg && (a.type === 'Tensor|Scalar' || a.type === 'Tensor') && ['other', 'exponent'].includes(a.name));
  const optsArg = op.args.find((a) => a.type === 'TensorOptions');
  const dtypeArg = op.args.find((a) => a.type === 'ScalarType?' && a.name === 'dtype');
  const ownD = dOwner || method ? 'D' : null;
  const defaultD = ownD === null ? `'${op.dtype ?? 'float32'}'` : op.ret === 'Tensor(sum)' ? `SumOf<${ownD}>` : ownD;
  const typeOf = (arg) => {
    if (arg === dOwner) {
      if (arg.type === 'Tensor[]') return 'readonly Tensor<D>[]';
      if (arg.type === 'Tensor|Scalar') return 'Tensor<D> | number | boolean';
      return 'Tensor<D>';
    }
    if (arg === other && op.ret === 'Tensor(promote)') return arg.type === 'Tensor' ? 'Tensor<O>' : 'Tensor<O> | number | boolean';
    if (arg === optsArg) return 'TensorOptions<R>';
    if (arg === dtypeArg) return 'R | null';
    if (arg.type === 'int...') return 'number[]';
    return tsScalarType(arg.type);
  };
  if (op.ret === 'Tensor(promote)' && other) generics.push(`O extends DType = D`);
  if (optsArg || dtypeArg) generics.push(`R extends DType = ${defaultD}`);
  const D = dOwner || method ? 'D' : 'DType';
  const retType = (r) => {
    const t = {
      Tensor: optsArg || dtypeArg ? 'Tensor<R>' : `Tensor<${D}>`,
      'Tensor(bool)': "Tensor<'bool'>",
      'Tensor(int64)': "Tensor<'int64'>",
      'Tensor(float)': dtypeArg ? 'Tensor<R>' : `Tensor<FloatOf<${D}>>`,
      'Tensor(sum)': dtypeArg ? 'Tensor<R>' : `Tensor<SumOf<${D}>>`,
      'Tensor(promote)': other ? `Tensor<Promote<${D}, O>>` : `Tensor<${D}>`,
      'Tensor(options)': 'Tensor<R>',
      'Tensor(any)': 'Tensor',
      'Tensor[]': `Tensor<${D}>[]`,
      bool: 'boolean',
      Scalar: 'number',
      // A function returns its (possibly list-typed) self argument; a method returns `this`.
      self: method || !selfArg ? 'this' : typeOf(selfArg),
    }[r];
    if (t) return t;
    const tuple = r.match(/^\((.*)\)$/);
    if (tuple) return `[${splitTopLevel(tuple[1]).map(retType).join(', ')}]`;
    throw new Error(`ops.def:${op.line}: unknown return ${r}`);
  };
  return { generics, typeOf, ret: retType(op.ret), selfArg };
}

function tsParams(op, { method, skipSelf }) {
  const { typeOf } = tsSignatureParts(op, { method });
  const pos = op.args.filter((a) => !a.kwOnly && !(skipSelf && a === skipSelf));
  const kw = op.args.filter((a) => a.kwOnly);
  const params = [];
  const rest = pos.find((a) => a.type === 'int...');
  for (const a of pos) {
    if (a === rest) continue;
    params.push(`${camel(a.name)}${a.optional ? '?' : ''}: ${typeOf(a)}`);
  }
  const optsType = kw.length ? `{ ${kw.map((a) => `${camel(a.name)}?: ${typeOf(a)}`).join('; ')} }` : null;
  const optsIsTensorOptions = kw.length === 1 && kw[0].type === 'TensorOptions';
  if (rest) {
    const tail = optsType ? (optsIsTensorOptions ? typeOf(kw[0]) : optsType) : null;
    params.push(`...${camel(rest.name)}: ${tail ? `SizeArgs<${tail}>` : 'SizeArgs'}`);
  } else if (optsType) {
    params.push(`options?: ${optsIsTensorOptions ? typeOf(kw[0]) : optsType}`);
  }
  return { params, pos, kw, rest, optsIsTensorOptions };
}

function tsCallArgs(op, { selfExpr, skipSelf }) {
  const { pos, kw, rest, optsIsTensorOptions } = tsParams(op, { method: !!selfExpr, skipSelf });
  const pre = [];
  const vals = [];
  if (rest) {
    pre.push(`const [${camel(rest.name)}$, options] = splitSizeArgs(${camel(rest.name)});`);
  }
  if (kw.length) {
    const keys = optsIsTensorOptions ? ['dtype', 'device', 'requiresGrad'] : kw.map((a) => camel(a.name));
    pre.push(`if (options !== undefined) checkOptions('${camel(op.name)}', options, ${JSON.stringify(keys).replace(/"/g, "'")});`);
  }
  for (const a of op.args) {
    if (a === skipSelf) vals.push(selfExpr);
    else if (a === rest) vals.push(`${camel(rest.name)}$`);
    else if (a.kwOnly) vals.push(optsIsTensorOptions ? 'options' : a.type === 'TensorOptions' ? `options` : tsValue(a, `options?.${camel(a.name)}`));
    else vals.push(tsValue(a));
  }
  return { pre, vals, pos, kw };
}

function tsReturn(op, call, { method }) {
  const r = op.ret;
  if (r === 'self') return method ? `${call};\n    return this;` : `${call};\n    return self;`;
  if (r === 'bool' || r === 'Scalar') return `return ${call} as never;`;
  if (r.startsWith('(') || r === 'Tensor[]') return `return wrapList(${call} as Handle[]) as never;`;
  return `return wrap(${call} as Handle) as never;`;
}

function tsMethod(op, { inplace = false } = {}) {
  const self = op.args[0];
  const theOp = inplace ? { ...op, ret: 'self' } : op;
  const { generics, ret } = tsSignatureParts(theOp, { method: true });
  const { params } = tsParams(theOp, { method: true, skipSelf: self });
  const { pre, vals } = tsCallArgs(theOp, { selfExpr: 'this._h', skipSelf: self });
  const name = inplace ? `${camel(op.name)}_` : camel(op.name);
  const nname = inplace ? `${op.name}_` : nativeName(op);
  const g = generics.length ? `<${generics.join(', ')}>` : '';
  return {
    name,
    signature: `${name}${g}(${params.join(', ')}): ${ret}`,
    body: `${pre.join('\n    ')}${pre.length ? '\n    ' : ''}${tsReturn(theOp, `native.${nname}(${vals.join(', ')})`, { method: true })}`,
  };
}

// Reserved words (torch.var) are declared under a local name and exported under their own.
const RESERVED = new Set(['var', 'delete', 'new', 'in', 'typeof', 'void', 'with']);
const localName = (name) => (RESERVED.has(name) ? `${name}_` : name);

// `asyncOp`: the `<name>Async` variant, a Promise of the result (see src/torch/threads.ts).
function tsFunction(op, { asyncOp = false } = {}) {
  const { generics, ret } = tsSignatureParts(op, { method: false });
  const { params } = tsParams(op, { method: false });
  const { pre, vals } = tsCallArgs(op, {});
  const suffix = asyncOp ? 'Async' : '';
  const name = localName((op.flags.has('hidden') ? '_' : '') + camel(op.name)) + suffix;
  const g = generics.length ? `<${generics.join(', ')}>` : '';
  const call = `native.${nativeName(op)}${suffix}(${vals.join(', ')})`;
  if (asyncOp) {
    // Argument checks run inside runAsync too: an async op reports every error as a rejection.
    const lines = [...pre, `return ${call};`].join('\n    ');
    return { name, signature: `${name}${g}(${params.join(', ')}): Promise<${ret}>`, body: `return runAsync(() => {\n    ${lines}\n  }) as never;` };
  }
  return {
    name,
    signature: `${name}${g}(${params.join(', ')}): ${ret}`,
    body: `${pre.join('\n  ')}${pre.length ? '\n  ' : ''}${tsReturn(op, call, { method: false })}`,
  };
}

// Overloads share a TS name: the implementation picks one by the first argument after self
// (absent, a number, or a Tensor), as PyTorch's parser does for max()/max(dim).
function dispatchOn(op, skipSelf) {
  const first = op.args.find((a) => a !== skipSelf && !a.kwOnly);
  if (!first || first.optional) return 'args[0] === undefined';
  if (first.type.startsWith('int') || first.type.startsWith('float')) return "typeof args[0] === 'number'";
  if (first.type.startsWith('Tensor')) return 'args[0] instanceof Object';
  throw new Error(`ops.def:${op.line}: cannot dispatch overload on ${first.type}`);
}

function tsOverloaded(group, kind) {
  const decls = group.map((op) => (kind === 'method' ? tsMethod(op) : tsFunction(op)));
  const name = decls[0].name;
  const implLines = group.map((op, k) => {
    const selfArg = op.args[0];
    const cond = dispatchOn(op, selfArg);
    const rest = op.args.filter((a) => a !== selfArg && !a.kwOnly);
    const vals = rest.map((a, i) => (a.type.startsWith('Tensor') ? `h(args[${i}] as Tensor)` : `args[${i}]`));
    const call = `native.${nativeName(op)}(${[kind === 'method' ? 'this._h' : 'h(self)', ...vals].join(', ')})`;
    const ret = op.ret.startsWith('(') ? `wrapList(${call} as Handle[])` : `wrap(${call} as Handle)`;
    return `${k === group.length - 1 ? '' : `if (${cond}) `}return ${ret} as never;`;
  });
  const sigs = decls.map((d) => `${kind === 'method' ? '  ' : 'export function '}${d.signature};`).join('\n');
  if (kind === 'method') {
    return `${sigs}\n  ${name}(...args: unknown[]): unknown {\n    ${implLines.join('\n    ')}\n  }`;
  }
  return `${sigs}\nexport function ${name}(self: Tensor, ...args: unknown[]): unknown {\n  ${implLines.join('\n  ')}\n}`;
}

function nativeSignature(op, inplace = false) {
  const name = inplace ? `${op.name}_` : nativeName(op);
  const params = op.args.map((a) => `${a.name}?: unknown`);
  return `  ${name}(${params.join(', ')}): unknown;`;
}

function groupByName(ops) {
  const groups = new Map();
  for (const op of ops) {
    const key = op.name;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(op);
  }
  return [...groups.values()];
}

function genTs(ops) {
  const methods = [];
  const functions = [];
  const groups = groupByName(ops);
  for (const group of groups) {
    const op = group[0];
    if (group.length > 1) {
      if (op.flags.has('method')) methods.push(tsOverloaded(group, 'method'));
      if (op.flags.has('function') || op.flags.has('hidden')) functions.push(tsOverloaded(group, 'function'));
      continue;
    }
    if (op.flags.has('method')) {
      const m = tsMethod(op);
      methods.push(`  ${m.signature} {\n    ${m.body}\n  }`);
    }
    if (op.flags.has('inplace')) {
      const m = tsMethod(op, { inplace: true });
      methods.push(`  ${m.signature} {\n    ${m.body}\n  }`);
    }
    if (op.flags.has('function') || op.flags.has('hidden')) {
      const f = tsFunction(op);
      functions.push(`export function ${f.signature} {\n  ${f.body}\n}`);
    }
    if (op.flags.has('async')) {
      const f = tsFunction(op, { asyncOp: true });
      functions.push(`export function ${f.signature} {\n  ${f.body}\n}`);
    }
  }
  const renamed = ops.filter((op) => (op.flags.has('function') || op.flags.has('hidden')) && RESERVED.has(camel(op.name)));
  if (renamed.length) functions.push(`export { ${renamed.map((op) => `${camel(op.name)}_ as ${camel(op.name)}`).join(', ')} };`);
  const nativeIface = ops.flatMap((op) => [
    nativeSignature(op),
    ...(op.flags.has('inplace') ? [nativeSignature(op, true)] : []),
    ...(op.flags.has('async') ? [nativeSignature(op).replace('(', 'Async(')] : []),
  ]);
  const opsTs = `// Generated by scripts/gen-ops.mjs from src/torch/ops.def. Do not edit.
/* eslint-disable */
import type { DType, DeviceLike, FloatOf, Promote, SumOf } from '../dtype.js';
import type { Tensor, TensorOptions } from '../tensor.js';
import { checkOptions, h, hs, splitSizeArgs, type Handle, type SizeArgs } from '../handle.js';
import { wrap, wrapList } from '../memory.js';
import { native } from '../native.js';
import { runAsync } from '../threads.js';

export interface NativeOps {
${nativeIface.join('\n')}
}

/** The generated Tensor methods; {@link Tensor} adds the hand-written ones. */
export abstract class TensorOps<D extends DType = DType> {
  abstract readonly _h: Handle;

${methods.join('\n\n')}
}

${functions.join('\n\n')}
`;
  const table = ops.map((op) => ({
    name: camel(op.name) + (op.overload ? `.${op.overload}` : ''),
    native: nativeName(op),
    method: op.flags.has('method'),
    function: op.flags.has('function'),
    inplace: op.flags.has('inplace'),
    async: op.flags.has('async'),
    hidden: op.flags.has('hidden'),
    differentiable: !op.flags.has('nograd'),
    args: op.args.map((a) => ({ name: camel(a.name), type: a.type, default: a.default ?? null, kwOnly: a.kwOnly })),
    returns: op.ret,
  }));
  const tableTs = `// Generated by scripts/gen-ops.mjs from src/torch/ops.def. Do not edit.
export interface OpArgInfo {
  readonly name: string;
  readonly type: string;
  readonly default: string | null;
  readonly kwOnly: boolean;
}
export interface OpInfo {
  readonly name: string;
  readonly native: string;
  readonly method: boolean;
  readonly function: boolean;
  readonly inplace: boolean;
  readonly async: boolean;
  readonly hidden: boolean;
  readonly differentiable: boolean;
  readonly args: readonly OpArgInfo[];
  readonly returns: string;
}
export const opTable: readonly OpInfo[] = ${JSON.stringify(table, null, 2)};
`;
  return { 'ops.ts': opsTs, 'op-table.ts': tableTs };
}

// ---------------------------------------------------------------------------------------------

function writeIfChanged(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return false;
  writeFileSync(path, text);
  return true;
}

export function generate() {
  const ops = parseDef(readFileSync(DEF, 'utf8'));
  let changed = 0;
  for (const [f, text] of Object.entries(genCpp(ops))) changed += writeIfChanged(join(root, 'native/generated', f), text);
  for (const [f, text] of Object.entries(genTs(ops))) changed += writeIfChanged(join(root, 'src/torch/generated', f), text);
  return { ops: ops.length, changed };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { ops, changed } = generate();
  process.stderr.write(`[gen-ops] ${ops} ops, ${changed} files updated\n`);
}
