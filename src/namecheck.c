/*
 * namecheck: the rules for the names and addresses the configuration
 * holds (see namecheck.h).
 */

#include <ctype.h>
#include <string.h>

#include "namecheck.h"

/* Kubernetes label values and DNS labels; Prometheus label names. */
#define NAMECHECK_LABEL_MAX	63
#define NAMECHECK_TOPIC_MAX	249

const char *
namecheck_kafka_brokers(const char *s)
{
	const char	*p;

	if (*s == '\0')
		return (NULL);

	for (p = s; *p != '\0'; p++) {
		if (isspace((unsigned char)*p) ||
		    (*p == ',' && (p == s || p[1] == '\0' || p[1] == ',')))
			break;
	}
	if (*p != '\0') {
		return ("must be a comma-separated list of host:port with no "
		    "spaces or empty entries (\"\" for the local broker)");
	}

	return (NULL);
}

const char *
namecheck_kafka_topic(const char *s)
{
	size_t		len;

	len = strlen(s);
	if (len == 0 || len > NAMECHECK_TOPIC_MAX ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") != len ||
	    strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
		return ("must be a Kafka topic name: 1..249 characters of "
		    "[A-Za-z0-9._-], not '.' or '..'");
	}

	return (NULL);
}

const char *
namecheck_env_name(const char *s)
{
	size_t		len;

	len = strlen(s);
	if (len == 0 || isdigit((unsigned char)*s) ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != len) {
		return ("must be the name of an environment variable "
		    "([A-Z_][A-Z0-9_]*)");
	}

	return (NULL);
}

const char *
namecheck_dns_label(const char *s)
{
	size_t		len;

	len = strlen(s);
	if (len == 0 || len > NAMECHECK_LABEL_MAX ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != len ||
	    s[0] == '-' || s[len - 1] == '-') {
		return ("must be a Kubernetes DNS label: 1..63 characters of "
		    "[a-z0-9-], starting and ending with a letter or digit");
	}

	return (NULL);
}

const char *
namecheck_label_value(const char *s)
{
	size_t		len;

	len = strlen(s);
	if (len == 0 || len > NAMECHECK_LABEL_MAX ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") != len ||
	    !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[len - 1])) {
		return ("must be a Kubernetes label value: 1..63 characters of "
		    "[A-Za-z0-9._-], starting and ending with a letter or "
		    "digit");
	}

	return (NULL);
}

/*
 * A Kubernetes label name: [prefix/]name, the name 1..63 characters of
 * [A-Za-z0-9._-] starting and ending with a letter or digit, the prefix
 * a DNS subdomain.  The generator's own labels cannot be set here.
 */
const char *
namecheck_label_name(const char *s)
{
	static const char	*reserved[] = { "app.kubernetes.io/name",
		"app.kubernetes.io/component", "grafana_dashboard", NULL };
	const char		*name;
	size_t			 i, plen;

	for (i = 0; reserved[i] != NULL; i++) {
		if (strcmp(s, reserved[i]) == 0)
			return ("set by the generator itself");
	}

	if ((name = strrchr(s, '/')) == NULL) {
		name = s;
	} else {
		plen = (size_t)(name - s);
		name++;
		if (plen == 0 || plen > 253 ||
		    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-") !=
		    plen || !isalnum((unsigned char)s[0]) ||
		    !isalnum((unsigned char)s[plen - 1]))
			return ("the prefix before '/' must be a DNS "
			    "subdomain ([a-z0-9.-], at most 253)");
	}
	if (namecheck_label_value(name) != NULL) {
		return ("must be [prefix/]name, the name 1..63 characters of "
		    "[A-Za-z0-9._-] starting and ending with a letter or "
		    "digit");
	}

	return (NULL);
}

const char *
namecheck_url(const char *s)
{
	const char	*host;

	if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else
		host = NULL;

	if (host == NULL || *host == '\0' || *host == '/' ||
	    strpbrk(s, " \t\"'<>\\`{}|^") != NULL) {
		return ("must be an http:// or https:// URL with a host and no "
		    "spaces or quotes");
	}

	return (NULL);
}

const char *
namecheck_receiver(const char *s)
{
	size_t		len;

	len = strlen(s);
	if (len == 0 || len > NAMECHECK_RECEIVER_MAX ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789._-") != len)
		return ("receiver names are 1..255 letters, digits, '.', '_' "
		    "or '-'");

	return (NULL);
}

/* "" or a Prometheus label name the alerts do not use otherwise. */
const char *
namecheck_cluster_label(const char *s)
{
	static const char	*taken[] = { "namespace", "job", "alertname",
		"severity", "instance", "slo", NULL };
	size_t			 i, len;

	len = strlen(s);
	if (len == 0)
		return (NULL);
	if (len > NAMECHECK_LABEL_MAX || isdigit((unsigned char)s[0]) ||
	    strncmp(s, "__", 2) == 0 ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_") != len)
		return ("must be \"\" or a Prometheus label name "
		    "([A-Za-z_][A-Za-z0-9_]*, not starting with __)");
	for (i = 0; taken[i] != NULL; i++) {
		if (strcmp(s, taken[i]) == 0)
			return ("is a label the alerts already use");
	}

	return (NULL);
}
