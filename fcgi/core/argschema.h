/*
 * argschema.h — a job template's argument schema (cube-studio's format) and
 * the validation and coercion of a task's arguments against it.
 *
 *     { "<group label>": { "<arg name>": <descriptor>, ... }, ... }
 *
 * Groups are display-only; arg names ("--epochs", "images", "workdir",
 * "command", "code") become CLI flags verbatim, so they are unique across
 * groups.  A descriptor:
 *
 *     type      str (default) | text | json | int | float | bool | enum | multiple | list |
 *               dict | file
 *     item_type element type of enum and multiple (str, text, int, float) and of list (those,
 *               bool, json, file, dict); default str, or dict for a list with sub_args
 *     require   0 | 1 | false | true; default 1, as in cube-studio
 *     editable  the same; 0 means a task may not change the default; default 1
 *     choice    array; required and non-empty for enum and multiple, otherwise not used
 *     range     "min,max" for int and float (and lists of them), inclusive, either side may be
 *               empty; "" means none
 *     default   must pass the arg's own coercion; null and "" mean "no default" (cube-studio
 *               writes "" for that)
 *     sub_args  { "<name>": <descriptor> } for dict, or a list of dicts; {} means none
 *     label, placeholder, describe   strings, for the form
 * Other keys (cube-studio's "regex", "condition", ...) are kept for the form and ignored here.
 *
 * Coercion of a given value: str/text → trimmed string (JSON numbers become their decimal
 * text); int → integer ("12", 12.0 accepted; "12.5", "abc", true refused); float → double
 * (numeric strings accepted); bool → true/false (also 0/1, "true"/"false"/"1"/"0"); json →
 * any value, a string must hold valid JSON and is parsed; enum → a member of choice; multiple
 * → array of members of choice (a string is split on whitespace, ',' and ';'); list → array
 * (a string is split on ',' and trimmed); dict → object (a string holding a JSON object is
 * parsed), checked recursively against sub_args when it has any; file → string, untouched.
 *
 * Presence: JSON null counts as not given.  A value that is "" after trimming is kept as ""
 * for an optional arg (the command renderer leaves empty values out) and refused as missing
 * for a required one; an empty array is refused for a required one too.
 */
#ifndef CUBE_ARGSCHEMA_H
#define CUBE_ARGSCHEMA_H

#include <json-c/json.h>
#include "core/arena.h"
#include "core/attr.h"

/* Longest arg name, in characters. */
#define ARGSCHEMA_NAME_MAX 64

/* Validates a schema (NULL is the empty schema); NULL when fine, else a message in the arena
 * naming the offending key path, e.g. "args.Training.--epochs.type: unknown type 'integer'". */
const char *argschema_check(struct arena *a, json_object *schema);

/* Validates and coerces task args (an object arg name -> value; NULL means {}) against schema.
 * Returns a new object owned by the arena: values coerced to each arg's type, defaults filled
 * in for missing args, keys in schema order (groups, then args within a group).  NULL and *err
 * (in the arena) on: an unknown key, a missing required arg with no default, a value of the
 * wrong type that cannot be coerced, an enum value outside choice, a multiple value with an
 * element outside choice, an int/float outside range, a changed non-editable arg, or a schema
 * that fails argschema_check.  *err starts with the key path ("--epochs: ...", nested as
 * "--conf.--lr: ..." and "--layers[2].--units: ..."), except for args that are not an object
 * ("expected an object of arguments") and a bad schema ("the template's args schema is
 * invalid: args.G.--x.type: ..."); callers prefix the field ("args", "demo").  Also validates
 * a template's demo args. */
json_object *argschema_apply(struct arena *a, json_object *schema, json_object *args,
                             const char **err);

/* The flat map arg name -> descriptor, in schema order, for callers that walk the schema.
 * The map is owned by the arena, the descriptors are the schema's own (read-only).  Meant for
 * a schema that passed argschema_check; groups and descriptors that are not objects are
 * skipped.  Never NULL. */
json_object *argschema_flat(struct arena *a, json_object *schema);

#endif
