/*
 * yamlvalue: the typed scalars of the configuration file, read from
 * YAML nodes.
 *
 * This module owns what the file accepts as a string, a boolean, an
 * integer, a positive number, a duration, a percentage and a latency,
 * and the message for each value it refuses, so that every key of a
 * type reads alike whatever section it is in:
 *
 *  - a string fits its buffer, has no control characters and passes the
 *    key's check, if the key has one (most are namecheck.h's);
 *  - a boolean is a plain true or false: YAML 1.1's yes, no, on and off
 *    are errors, not booleans;
 *  - an integer is plain decimal digits with an optional '+', within
 *    the key's bounds;
 *  - a positive number and a percentage are plain numbers (yamlwalk.h),
 *    greater than 0, a percentage also less than 100;
 *  - a duration and a latency are written as duration.h says, and a
 *    duration is at least the key's minimum.
 *
 * Each function writes *dst only when the value is good, and returns 0;
 * else -1 with the message written through the walk, which knows the
 * file, the position and the key path.  What a key is, and where its
 * value goes, is the caller's (config.c's key tables).  Depends on
 * yamlwalk and duration.
 */

#ifndef SAGA_YAMLVALUE_H
#define SAGA_YAMLVALUE_H

#include <stddef.h>

#include <yaml.h>

#include "yamlwalk.h"

/* NULL, or why s is refused (a phrase after "bad value 's': "). */
typedef const char	*(*yamlvalue_check)(const char *s);

int	yamlvalue_string(struct yamlwalk *w, const yaml_node_t *v,
	    char *dst, size_t size, yamlvalue_check check);
int	yamlvalue_bool(struct yamlwalk *w, const yaml_node_t *v, int *dst);
int	yamlvalue_uint(struct yamlwalk *w, const yaml_node_t *v,
	    unsigned long min, unsigned long max, unsigned int *dst);
int	yamlvalue_positive(struct yamlwalk *w, const yaml_node_t *v,
	    double *dst);
int	yamlvalue_duration(struct yamlwalk *w, const yaml_node_t *v,
	    unsigned int min, unsigned int *dst);
int	yamlvalue_percent(struct yamlwalk *w, const yaml_node_t *v,
	    double *dst);
int	yamlvalue_latency(struct yamlwalk *w, const yaml_node_t *v,
	    double *dst);

#endif /* !SAGA_YAMLVALUE_H */
