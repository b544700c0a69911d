/*
 * js.h — json-c helpers.  Parsed roots and built documents are released by
 * the arena (js_own); get-helpers return borrowed pointers.
 */
#ifndef CUBE_JS_H
#define CUBE_JS_H

#include <json-c/json.h>
#include <stdbool.h>
#include "core/arena.h"
#include "core/attr.h"

/* Parses a complete JSON text; NULL and a message on error.  The root is owned by the arena. */
json_object *js_parse(struct arena *a, const char *s, size_t len, const char **errmsg);
/* Hands o to the arena (one json_object_put at reset); returns o. */
json_object *js_own(struct arena *a, json_object *o);
/* Compact serialisation, valid until the owning object is put. */
const char *js_str(json_object *o);
/* Borrowed member lookups; NULL when missing or of another type. */
const char *js_get_str(json_object *o, const char *key);
json_object *js_get(json_object *o, const char *key);
/* json_object_new_string that treats NULL as "" (json-c would store null). */
json_object *js_new_str(const char *s);

#endif
