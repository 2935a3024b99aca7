/*
 * namecheck: the rules for the names and addresses the configuration
 * holds, as the systems that receive them will judge them.
 *
 * This module owns the question "would Kafka, Kubernetes, Prometheus or
 * Alertmanager take this string?", asked before anything is sent to
 * them, so that a bad name is refused at start, by the key that holds
 * it, instead of failing later somewhere else: a bootstrap server list,
 * a topic, the name of an environment variable, a Kubernetes namespace
 * (a DNS label), label names and values, an http(s) URL, a receiver
 * name, and the label that tells clusters apart in the alerts.  Two
 * rules go beyond the receivers' own: the monitoring generator's own
 * labels (app.kubernetes.io/name and /component, grafana_dashboard)
 * cannot be set as monitoring.labels, and the cluster label must not be
 * one the alerts use otherwise (namespace, job, alertname, severity,
 * instance, slo).
 *
 * Each function takes a NUL-terminated string and returns NULL when it
 * is acceptable, else why not, as a phrase that fits after "bad value
 * 'x': "; config.c writes the rest of the message.  Depends on nothing.
 */

#ifndef SAGA_NAMECHECK_H
#define SAGA_NAMECHECK_H

/* The longest receiver name (config.h's strings hold it). */
#define NAMECHECK_RECEIVER_MAX	255

/* "" (the local broker) or host:port[,host:port...]. */
const char	*namecheck_kafka_brokers(const char *s);
const char	*namecheck_kafka_topic(const char *s);
const char	*namecheck_env_name(const char *s);
const char	*namecheck_dns_label(const char *s);
const char	*namecheck_label_value(const char *s);
/* A Kubernetes label name, [prefix/]name. */
const char	*namecheck_label_name(const char *s);
const char	*namecheck_url(const char *s);
const char	*namecheck_receiver(const char *s);
/* "" (none) or a Prometheus label name. */
const char	*namecheck_cluster_label(const char *s);

#endif /* !SAGA_NAMECHECK_H */
