// Offline validation of Kubernetes objects against the upstream schemas (no API server here).
//
//   node validate.mjs [--quiet] FILE...      .json (one object) or .yaml/.yml (many documents)
//   node validate.mjs --stdin NAME          one JSON object on standard input
//
// Each object is checked twice:
//  1. types, enums, required fields and formats: the kubernetes-models class of its
//     apiVersion/kind (upstream OpenAPI schemas compiled to ajv validators);
//     kubeflow.org/v1 PyTorchJob against the training operator's CRD schema
//     (pytorchjob-crd-v1.9.0.schema.json) with ajv, its pod templates also as core/v1
//     PodTemplateSpec;
//  2. unknown fields, which kubernetes-models lets through: the object is walked along the
//     field lists of the package's generated TypeScript declarations (for the CRD: along its
//     structural schema), as the API server's strict field validation would.
// Prints "ok FILE KIND/NAME" or "FAIL FILE KIND/NAME: reasons" per object; exits 1 if any failed.
import { readFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import YAML from "yaml";
import Ajv from "ajv";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const modelsRoot = dirname(require.resolve("kubernetes-models/package.json"));
const apimRoot = dirname(require.resolve("@kubernetes-models/apimachinery/package.json"));

// --- 1. schema validation ---------------------------------------------------------------

// apiVersion → directory of kubernetes-models (core "v1" is "v1").
function modelDir(apiVersion) {
    if (!apiVersion) return null;
    return apiVersion;
}

async function modelClass(apiVersion, kind) {
    const candidates = [];
    if (apiVersion === "v1" && (kind === "Status" || kind === "DeleteOptions"))
        candidates.push(`@kubernetes-models/apimachinery/apis/meta/v1/${kind}`);
    const dir = modelDir(apiVersion);
    if (dir) candidates.push(`kubernetes-models/${dir}/${kind}`);
    for (const spec of candidates) {
        try {
            const mod = await import(spec);
            if (mod[kind]) return { cls: mod[kind], spec };
        } catch {
            // try the next one
        }
    }
    return null;
}

function ajvErrors(errors) {
    return (errors || []).map((e) => `${e.instancePath || "/"} ${e.message}${e.params && e.params.allowedValues ? " " + JSON.stringify(e.params.allowedValues) : ""}`);
}

let crd = null;
let crdValidate = null;
function loadCrd() {
    if (crd) return;
    crd = JSON.parse(readFileSync(join(here, "pytorchjob-crd-v1.9.0.schema.json"), "utf8"));
    // OpenAPI v3 subset: x-kubernetes-* and int32/int64 formats are extensions to ajv.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    crdValidate = ajv.compile(crd.openAPIV3Schema);
}

async function schemaErrors(obj) {
    const { apiVersion, kind } = obj;
    if (apiVersion === "kubeflow.org/v1" && kind === "PyTorchJob") {
        loadCrd();
        const errs = crdValidate(obj) ? [] : ajvErrors(crdValidate.errors);
        // The CRD's embedded pod template is a structural copy; also check it as the core
        // type (quantities, enums) and the metadata as ObjectMeta.
        const { PodTemplateSpec } = await import("kubernetes-models/v1/PodTemplateSpec");
        const { ObjectMeta } = await import("@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta");
        for (const [rtype, rspec] of Object.entries((obj.spec && obj.spec.pytorchReplicaSpecs) || {})) {
            try {
                new PodTemplateSpec(rspec.template).validate();
            } catch (e) {
                errs.push(`pytorchReplicaSpecs.${rtype}.template: ${e.message}`);
            }
        }
        try {
            new ObjectMeta(obj.metadata).validate();
        } catch (e) {
            errs.push(`metadata: ${e.message}`);
        }
        return errs;
    }
    const m = await modelClass(apiVersion, kind);
    if (!m) return [`no schema for apiVersion ${apiVersion} kind ${kind}`];
    try {
        new m.cls(obj).validate();
        return [];
    } catch (e) {
        return [e.message.replace(/\s+/g, " ")];
    }
}

// --- 2. unknown fields ----------------------------------------------------------------------

// A parsed interface: field → type text; null for a type alias (a scalar: Quantity, Time...).
const dtsCache = new Map();

function resolveImport(fromFile, spec) {
    let base;
    if (spec.startsWith(".")) base = resolve(dirname(fromFile), spec);
    else if (spec.startsWith("@kubernetes-models/apimachinery/")) base = join(apimRoot, spec.slice("@kubernetes-models/apimachinery/".length));
    else if (spec.startsWith("kubernetes-models/")) base = join(modelsRoot, spec.slice("kubernetes-models/".length));
    else return null;
    return existsSync(base + ".d.ts") ? base + ".d.ts" : null;
}

function parseDts(file) {
    if (dtsCache.has(file)) return dtsCache.get(file);
    const text = readFileSync(file, "utf8");
    const imports = new Map();
    for (const m of text.matchAll(/^import \{ ([A-Za-z0-9_]+) \} from "([^"]+)";$/gm)) imports.set(m[1], resolveImport(file, m[2]));
    const start = text.search(/^export interface I[A-Za-z0-9_]+[^{]*\{$/m);
    let info = null;
    if (start >= 0) {
        const fields = new Map();
        const lines = text.slice(start).split("\n");
        for (let i = 1; i < lines.length && lines[i] !== "}"; i++) {
            const m = lines[i].match(/^ {4}"([^"]+)"\??: (.*)$/);
            if (!m) continue;
            let type = m[2];
            if (type === "{") {
                // { [key: string]: T; }
                const v = lines[i + 1].match(/\[key: string\]: (.*);$/);
                type = v ? `map<${v[1]}>` : "any";
            } else {
                type = type.replace(/;$/, "");
            }
            fields.set(m[1], type);
        }
        info = { fields, imports };
    }
    dtsCache.set(file, info);
    return info;
}

function walkDts(value, type, imports, path, errs) {
    if (value === null || value === undefined) return;
    let m;
    if ((m = type.match(/^Array<(.*)>$/))) {
        if (Array.isArray(value)) value.forEach((v, i) => walkDts(v, m[1], imports, `${path}[${i}]`, errs));
        return;
    }
    if ((m = type.match(/^map<(.*)>$/))) {
        if (value && typeof value === "object" && !Array.isArray(value))
            for (const [k, v] of Object.entries(value)) walkDts(v, m[1], imports, `${path}.${k}`, errs);
        return;
    }
    const file = imports && imports.get(type);
    if (!file) return; // string, number, boolean, literal unions
    walkInterface(value, file, path, errs);
}

function walkInterface(value, file, path, errs) {
    const info = parseDts(file);
    if (!info || typeof value !== "object" || Array.isArray(value)) return; // alias: a scalar
    for (const [k, v] of Object.entries(value)) {
        const type = info.fields.get(k);
        if (type === undefined) {
            errs.push(`unknown field ${path ? path + "." : ""}${k}`);
            continue;
        }
        walkDts(v, type, info.imports, path ? `${path}.${k}` : k, errs);
    }
}

function walkSchema(value, schema, path, errs) {
    if (value === null || value === undefined || !schema) return;
    if (schema["x-kubernetes-preserve-unknown-fields"]) return;
    if (Array.isArray(value)) {
        if (schema.items) value.forEach((v, i) => walkSchema(v, schema.items, `${path}[${i}]`, errs));
        return;
    }
    if (typeof value !== "object") return;
    if (schema.properties) {
        for (const [k, v] of Object.entries(value)) {
            if (!(k in schema.properties)) {
                errs.push(`unknown field ${path ? path + "." : ""}${k}`);
                continue;
            }
            walkSchema(v, schema.properties[k], path ? `${path}.${k}` : k, errs);
        }
    } else if (schema.additionalProperties && typeof schema.additionalProperties === "object") {
        for (const [k, v] of Object.entries(value)) walkSchema(v, schema.additionalProperties, `${path}.${k}`, errs);
    }
}

function unknownFields(obj) {
    const errs = [];
    if (obj.apiVersion === "kubeflow.org/v1" && obj.kind === "PyTorchJob") {
        loadCrd();
        const { metadata, ...rest } = obj;
        walkSchema(rest, crd.openAPIV3Schema, "", errs);
        walkInterface(metadata || {}, join(apimRoot, "apis/meta/v1/ObjectMeta.d.ts"), "metadata", errs);
        return errs;
    }
    let file = null;
    if (obj.apiVersion === "v1" && (obj.kind === "Status" || obj.kind === "DeleteOptions")) file = join(apimRoot, `apis/meta/v1/${obj.kind}.d.ts`);
    else if (obj.apiVersion && obj.kind) file = join(modelsRoot, obj.apiVersion, `${obj.kind}.d.ts`);
    if (!file || !existsSync(file)) return [`no field list for ${obj.apiVersion} ${obj.kind}`];
    walkInterface(obj, file, "", errs);
    return errs;
}

// --- main ---------------------------------------------------------------------------------

async function check(obj, where) {
    const name = obj && obj.metadata && obj.metadata.name ? obj.metadata.name : "-";
    const label = `${where} ${obj && obj.kind}/${name}`;
    if (!obj || typeof obj !== "object" || !obj.apiVersion || !obj.kind) {
        return { ok: false, line: `FAIL ${where}: not a Kubernetes object (apiVersion and kind)` };
    }
    let errs;
    if (/List$/.test(obj.kind) && Array.isArray(obj.items)) {
        // The API server leaves apiVersion and kind out of a list's items (kubectl adds them
        // for display); the schemas require them, so each item is checked as its own kind.
        const itemKind = obj.kind.slice(0, -4);
        const { items, ...envelope } = obj;
        errs = obj.apiVersion === "kubeflow.org/v1" ? [] : [...(await schemaErrors({ ...envelope, items: [] })), ...unknownFields(envelope)];
        for (const [i, item] of items.entries()) {
            const full = { apiVersion: obj.apiVersion, kind: itemKind, ...item };
            for (const e of [...(await schemaErrors(full)), ...unknownFields(full)]) errs.push(`items[${i}]: ${e}`);
        }
    } else {
        errs = [...(await schemaErrors(obj)), ...unknownFields(obj)];
    }
    return errs.length ? { ok: false, line: `FAIL ${label}: ${errs.join("; ")}` } : { ok: true, line: `ok   ${label}` };
}

function documents(file) {
    const text = readFileSync(file, "utf8");
    if (/\.ya?ml$/.test(file)) return YAML.parseAllDocuments(text).map((d) => d.toJS()).filter((d) => d !== null);
    return [JSON.parse(text)];
}

const args = process.argv.slice(2);
const quiet = args[0] === "--quiet" && args.shift();
let failed = 0;
let total = 0;
const inputs = [];
if (args[0] === "--stdin") {
    inputs.push([args[1] || "stdin", [JSON.parse(readFileSync(0, "utf8"))]]);
} else {
    for (const f of args) {
        try {
            inputs.push([f, documents(f)]);
        } catch (e) {
            console.log(`FAIL ${f}: unreadable: ${e.message}`);
            failed++;
        }
    }
}
for (const [where, objs] of inputs) {
    for (const obj of objs) {
        const r = await check(obj, where);
        total++;
        if (!r.ok) failed++;
        if (!r.ok || !quiet) console.log(r.line);
    }
}
if (!total && !failed) {
    console.log("FAIL nothing to validate");
    failed++;
}
process.exit(failed ? 1 : 0);
