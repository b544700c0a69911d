/* attr.h — compiler attributes shared by headers (common.h adds the banned-function list). */
#ifndef CUBE_ATTR_H
#define CUBE_ATTR_H

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define WARN_UNUSED __attribute__((warn_unused_result))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define NORETURN __attribute__((noreturn))
#define UNUSED __attribute__((unused))

#endif
