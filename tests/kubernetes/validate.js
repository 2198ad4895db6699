// tests/kubernetes/validate.js - Kubernetes objects checked against the API
// schemas of the npm package kubernetes-models (pinned in package.json and
// package-lock.json; installed by models.sh; NODE_PATH names it). Offline.
//
// stdin: a JSON array of objects. stdout: a JSON array, one entry per
// object: {"ok": true} or {"ok": false, "errors": ["..."]}.
//
// Two checks per object:
//  1. the package's own validate(): types, required fields, formats, enums
//     as the API's OpenAPI schema has them;
//  2. no unknown field (what `kubectl apply`'s default strict field
//     validation refuses on a real server, and the OpenAPI schema alone
//     does not): each field must be a property of its type, as the
//     package's type declarations (*.d.ts) list them.
"use strict";
const fs = require("fs");
const path = require("path");

function moduleDir(name) {
  for (const base of (process.env.NODE_PATH || "").split(path.delimiter)) {
    const d = path.join(base, name);
    if (base && fs.existsSync(path.join(d, "package.json"))) return d;
  }
  return path.dirname(require.resolve(name + "/package.json"));
}

// --- the types' properties, from the .d.ts files --------------------------
// interfaces["IIoK8sApiCoreV1Probe"] = {httpGet: {kind: "ref", name: ...}, ...}
const interfaces = {};

function parseType(t) {
  t = t.trim().replace(/;$/, "").trim();
  let m = /^Array<(\w+)>$/.exec(t);
  if (m) return { kind: "array", of: m[1] };
  m = /^\{\s*\[key: string\]:\s*(\w+);?\s*\}$/s.exec(t);
  if (m) return { kind: "map", of: m[1] };
  m = /^(IIoK8s\w+)$/.exec(t);
  if (m) return { kind: "ref", name: m[1] };
  return { kind: "any" };
}

function parseDts(file) {
  const src = fs.readFileSync(file, "utf8");
  const alias = {};
  for (const m of src.matchAll(/export \{([^}]*)\}/g)) {
    for (const part of m[1].split(",")) {
      const a = /^\s*(\w+) as (\w+)\s*$/.exec(part);
      if (a) alias[a[1]] = a[2];
    }
  }
  for (const m of src.matchAll(/export interface (\w+)(?: extends [\w<>, ]+)? \{\n([\s\S]*?)\n\}/g)) {
    const body = m[2].replace(/\/\*\*[\s\S]*?\*\//g, "").split("\n")
      .filter((l) => l.trim()).join("\n");
    const props = {};
    // "name"?: TYPE; where TYPE may span lines ({ [key: string]: X; }).
    const re = /^ {4}"([^"]+)"\??: ([\s\S]*?);\n(?= {4}"|$)/gm;
    for (const p of (body + "\n").matchAll(re)) props[p[1]] = parseType(p[2]);
    interfaces[m[1]] = props;
    if (alias[m[1]]) interfaces[alias[m[1]]] = props;
  }
}

function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== "node_modules") walk(p);
    else if (e.name.endsWith(".d.ts")) parseDts(p);
  }
}

const models = moduleDir("kubernetes-models");
walk(models);
walk(moduleDir("@kubernetes-models/apimachinery"));

function unknownFields(value, type, where, out) {
  if (type.kind === "ref") {
    const props = interfaces[type.name];
    if (!props || value === null || typeof value !== "object" ||
        Array.isArray(value)) return;
    for (const [k, v] of Object.entries(value)) {
      if (!(k in props)) out.push(`${where}/${k}: unknown field`);
      else unknownFields(v, props[k], `${where}/${k}`, out);
    }
  } else if (type.kind === "array" && Array.isArray(value)) {
    value.forEach((v, i) =>
      unknownFields(v, { kind: "ref", name: type.of }, `${where}/${i}`, out));
  } else if (type.kind === "map" && value && typeof value === "object") {
    for (const [k, v] of Object.entries(value))
      unknownFields(v, { kind: "ref", name: type.of }, `${where}/${k}`, out);
  }
}

// --- per object --------------------------------------------------------
function modelOf(obj) {
  if (!obj || typeof obj.apiVersion !== "string" || typeof obj.kind !== "string")
    throw new Error("no apiVersion/kind");
  if (!/^[A-Za-z0-9.\/]+$/.test(obj.apiVersion) || !/^[A-Za-z]+$/.test(obj.kind))
    throw new Error(`bad apiVersion/kind ${obj.apiVersion} ${obj.kind}`);
  const file = path.join(models, obj.apiVersion, obj.kind + ".js");
  if (!fs.existsSync(file))
    throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
  const mod = require(file);
  return mod[obj.kind];
}

function check(obj) {
  const errors = [];
  let Model;
  try {
    Model = modelOf(obj);
    new Model(obj).validate();
  } catch (e) {
    errors.push(String(e.message || e));
  }
  if (Model) {
    // The module exports the class under its schema name too
    // (IoK8sApiAppsV1Deployment); its interface is that with an I.
    const full = Object.keys(require(path.join(models, obj.apiVersion,
      obj.kind + ".js"))).find((k) => k.startsWith("IoK8s"));
    const iface = full && "I" + full;
    const out = [];
    if (iface && interfaces[iface]) unknownFields(obj, { kind: "ref", name: iface }, "", out);
    else out.push(`no type declaration for ${obj.apiVersion} ${obj.kind}`);
    errors.push(...out);
  }
  return errors.length ? { ok: false, errors } : { ok: true };
}

const input = JSON.parse(fs.readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(input.map(check)) + "\n");
