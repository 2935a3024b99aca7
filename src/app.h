/*
 * app: the kore hooks that start and stop the service.
 *
 * The parent loads conf/saga-tracker.yaml (or $SAGA_TRACKER_CONFIG) and
 * maps the shared metrics segment before it forks; each worker then
 * attaches its metrics stripe and registers the database.  The loaded
 * configuration is owned here and read-only after the fork.
 */

#ifndef SAGA_APP_H
#define SAGA_APP_H

#include "config.h"

#define APP_DB_NAME		"db"
#define APP_CONFIG_ENV		"SAGA_TRACKER_CONFIG"
#define APP_CONFIG_DEFAULT	"conf/saga-tracker.yaml"

const struct config	*app_config(void);

/* NULL when the database is configured, else why it is not. */
const char		*app_db_unconfigured(void);

#endif
