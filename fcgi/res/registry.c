/*
 * registry.c — every resource Cube serves, in menu order.  Adding a resource
 * means writing its table in a res_*.c file and listing it here.
 */
#include <string.h>

#include "api/resource.h"
#include "res/res.h"
#include "core/common.h"

const struct resource *const resources[] = {
    &res_project,       &res_project_user,   &res_dataset,      &res_repository, &res_images,
    &res_job_template,  &res_pipeline,       &res_task,         &res_workflow,   &res_runhistory,
    &res_task_instance, &res_training_model, &res_webhook,      &res_users,      &res_roles,
    &res_userinfo,      &res_token,          &res_notification, &res_log,        &res_cluster,
};
const size_t resources_count = ARRAY_LEN(resources);

const struct resource *resource_find(const char *view, size_t len)
{
    for (size_t i = 0; i < resources_count; i++) {
        const char *v = resources[i]->view;
        if (strlen(v) == len && !memcmp(v, view, len))
            return resources[i];
    }
    return NULL;
}

size_t resource_index(const struct resource *r)
{
    for (size_t i = 0; i < resources_count; i++)
        if (resources[i] == r)
            return i;
    ASSERT(!"resource not registered");
    return 0;
}

const struct column *resource_col(const struct resource *r, const char *name)
{
    for (size_t i = 0; i < r->ncols; i++)
        if (!strcmp(r->cols[i].name, name))
            return &r->cols[i];
    return NULL;
}

const char *col_sqlname(const struct column *c)
{
    return c->fk ? c->fk : c->name;
}

bool col_readable(const struct column *c)
{
    return !(c->flags & (COL_SECRET | COL_HIDDEN));
}
