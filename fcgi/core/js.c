/* js.c — json-c helpers. */
#include <string.h>

#include "core/js.h"
#include "core/common.h"

static void put(void *p)
{
    json_object_put(p);
}

json_object *js_own(struct arena *a, json_object *o)
{
    if (o)
        arena_defer(a, put, o);
    return o;
}

json_object *js_parse(struct arena *a, const char *s, size_t len, const char **errmsg)
{
    json_tokener *tok = json_tokener_new();
    json_object *o;
    enum json_tokener_error jerr;

    *errmsg = NULL;
    if (!tok) {
        *errmsg = "out of memory";
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    o = json_tokener_parse_ex(tok, s, (int)len);
    jerr = json_tokener_get_error(tok);
    if (jerr == json_tokener_success && (size_t)json_tokener_get_parse_end(tok) != len) {
        /* Trailing bytes after a complete value; whitespace is fine. */
        for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
            if (!strchr(" \t\r\n", s[i])) {
                json_object_put(o);
                json_tokener_free(tok);
                *errmsg = "trailing characters after the JSON value";
                return NULL;
            }
        }
    }
    if (jerr != json_tokener_success) {
        json_object_put(o);
        *errmsg = jerr == json_tokener_continue ? "unexpected end of JSON"
                                                : json_tokener_error_desc(jerr);
        json_tokener_free(tok);
        return NULL;
    }
    json_tokener_free(tok);
    return js_own(a, o);
}

const char *js_str(json_object *o)
{
    return json_object_to_json_string_ext(o,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

json_object *js_get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object))
        return NULL;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

const char *js_get_str(json_object *o, const char *key)
{
    json_object *v = js_get(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

json_object *js_new_str(const char *s)
{
    return json_object_new_string(s ? s : "");
}
