/*
 * render.h — from (pipeline, task, template, run context) to the exact argv,
 * environment, working directory and image an executor runs.  Pure: no
 * database, no network; the inputs are json-c objects shaped like the API rows
 * and the task's args are already validated and coerced (core/argschema).
 *
 * Variables.  {{creator}} {{runner}} {{execution_date}} {{pipeline_name}}
 * {{pipeline_id}} {{run_id}} {{task_name}} and every global_env key, with
 * optional spaces or tabs inside the braces.  cube-studio ran Jinja over the
 * whole workflow, twice; Cube substitutes plain names in one pass and nothing
 * else: a substituted value is never scanned again, and anything that is not
 * a known name ({{ 1+1 }}, {{ x | upper }}, {{ unknown }}) stays as written.
 * Context variables win over a global_env key of the same name.  global_env
 * values are first expanded with the context variables only; the results are
 * the values of the {{KEY}} variables.
 *
 * Expanded: arg values (strings, and string leaves of list/dict values), the
 * task command, the template entrypoint, template env values, global_env
 * values (context only) and the working directory whatever its source.  Not
 * expanded: the KFJ_* values, the template's image name.
 *
 * argv.  Built-in templates by name:
 *   customize (also cube-studio's 自定义镜像)  bash -c <command>
 *   python                                   python3 -c <code>
 *   shell-script                             bash -euo pipefail -c <script>
 *   logical                                  true        (a no-op join node)
 *   distributed                              bash -c <command>, replicas = num_workers
 *                                            (default 2), env WORLD_SIZE, MASTER_PORT
 *                                            (master_port, default 29500), MASTER_ADDR=127.0.0.1
 * Any other template: the entrypoint split on whitespace — or, when the task
 * has a command, bash -c '<lines joined with " && "> "$@"' cube — followed by
 * the args in schema order: true → the bare flag, false/""/null/[]/{} →
 * nothing, list/dict → flag + compact JSON, numbers → flag + decimal text,
 * strings → flag + the string.  Arg names are the flags, verbatim.  The args
 * images and workdir are never flags: they override the image and workdir.
 *
 * Environment, first position kept and later sources winning: template env,
 * pipeline global_env, then the KFJ_* block (and the distributed variables),
 * which always wins.
 *
 * The KFJ_* block is cube-studio's variables that scripts and launchers read.
 * render_task puts it in the environment it returns and, field by field, in
 * out->kfj.  A run's snapshot leaves it out (it was half of every snapshot, and
 * a scheduler tick writes thousands of them); the dispatcher puts it back from
 * the snapshot and the run row (snapshot_kfj, render_kfj_env), so an attempt
 * gets the same variables render_task gave.
 */
#ifndef CUBE_RENDER_H
#define CUBE_RENDER_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include "core/arena.h"
#include "core/err.h"
#include "core/attr.h"

struct render_ctx {
    const char *creator;        /* who owns the run (NULL: pipeline.created_by.username) */
    const char *runner;         /* who started it (NULL: the creator) */
    const char *execution_date; /* "YYYY-MM-DD HH:MM:SS" (the cron tick, or now) */
    const char *run_id;         /* the run's id as text */
};

/* The values of the KFJ_* block ("" for NULL). */
struct render_kfj {
    const char *pipeline_id, *pipeline_name, *run_id, *creator, *runner, *execution_date,
        *project_name, *task_id, *task_name, *image, *volume_mount, *node_selector, *cpu, *memory,
        *gpu, *timeout;
};

/* Every pointer is allocated in the arena given to render_task. */
struct rendered {
    const char **argv;
    size_t argc;
    const char **env; /* "K=V"; no key appears twice */
    size_t nenv;
    const char *workdir;   /* "" = the executor's default */
    const char *image;     /* "" = run on the host */
    int replicas;          /* 1, or N for the distributed template */
    struct render_kfj kfj; /* the KFJ_* values, also in env */
};

struct env_var {
    const char *key, *value;
};

/*
 * Parses "KEY=value" lines (env, global_env) as they are stored: blank lines
 * and lines whose first non-blank character is # are skipped; key and value
 * are trimmed; KEY must match [A-Za-z_][A-Za-z0-9_]*.  The pairs come back in
 * line order, duplicates included (a later one wins when applied).  On a bad
 * line returns ERR_UNPROCESSABLE and *err = "<what> line N: expected KEY=value"
 * (or "... invalid variable name 'x' ...").  NULL text = no lines.  The API
 * validates env and global_env with this on save.
 */
enum err render_env_lines(struct arena *a, const char *text, const char *what,
                          struct env_var **vars, size_t *n, const char **err) WARN_UNUSED;

/* Everything in *out and *err is allocated in a.  ERR_UNPROCESSABLE with *err naming the
 * problem (a malformed env line, an empty required arg, a template with nothing to run). */
enum err render_task(struct arena *a, json_object *pipeline, json_object *task, json_object *tmpl,
                     const struct render_ctx *rc, struct rendered *out,
                     const char **err) WARN_UNUSED;

/* Whether the key of the "K=V" entry is one of the KFJ_* block's. */
bool render_kfj_key(const char *entry);

/* env without the block's keys, then the block: n entries and a NULL.  An env that carries
 * block keys already (a run created before the block left the snapshot) comes back as it is. */
const char **render_kfj_env(struct arena *a, const char *const *env, size_t nenv,
                            const struct render_kfj *k, size_t *n);

/* A JSON scalar as text, as the renderer writes values: strings as they are, numbers in
 * decimal, true/false, null or missing as "", arrays and objects as compact JSON. */
const char *render_scalar(struct arena *a, json_object *v);

#endif
