/*
 * k8s.h — the Kubernetes executor: each task attempt is one batch/v1 Job (or,
 * with replicas > 1, one Kubeflow PyTorchJob), spoken to over the Kubernetes
 * REST API with libcurl.  It copies the local engine's semantics (exec.h):
 * submit is idempotent under the attempt's deterministic name, status never
 * blocks longer than engine_conf.timeout_ms and reports a broken API as an
 * error, never as a state change, cancel returns at once, log reads from an
 * offset.  Executors never touch the database.
 *
 * Identity.  metadata.name is the attempt name (cube-r<run>-t<ti>-a<try>); the
 * Job and its pod template carry the labels cube/attempt=<name> and, when the
 * name has that shape, cube/run, cube/task and cube/try, plus
 * app.kubernetes.io/managed-by=cube.  Pods are found with the label selector
 * cube/attempt=<name> (one query for both kinds; the job controller's
 * job-name label exists only on Jobs) and a pod whose controller
 * ownerReference is not the attempt's object (a leftover of a deleted
 * namesake) is ignored.
 *
 * Submit.  POST .../jobs?fieldValidation=Strict (an unknown field is a 422, not
 * silently dropped) → 201.  409 AlreadyExists → GET it and adopt it when its
 * cube/attempt label is the name (ERR_OK, nothing new runs); a namesake that is
 * not ours is ERR_CONFLICT.  The Job: backoffLimit 0 (retries are the
 * scheduler's), restartPolicy Never, activeDeadlineSeconds = timeout + grace
 * when there is a timeout (a backstop: the watcher stops the task at the
 * timeout itself; Kubernetes counts the deadline from the Job's start, pending
 * time included), terminationGracePeriodSeconds = grace (SIGTERM, grace,
 * SIGKILL, as the shim does), no ttlSecondsAfterFinished (k8s_remove deletes),
 * automountServiceAccountToken false (a task gets no API credentials) and
 * enableServiceLinks false (no *_SERVICE_HOST variables: the task's
 * environment is its env plus what the image and Kubernetes always set).
 * One container, "main": image, command = argv (replaces the image's
 * ENTRYPOINT), env "K=V" (PATH and HOME are the image's when not given),
 * workingDir when workdir is absolute ("" = the image's WORKDIR; a relative
 * workdir is ERR_BADREQ: there is no attempt directory to be relative to).
 * Resources, as requests = limits (Guaranteed QoS when both are set): cpu in
 * millicores rounded up, memory in bytes, nvidia.com/gpu (whole GPUs only;
 * fractions are ERR_BADREQ).  cpu and memory are per pod — per replica — where
 * the local engine applies them to the whole attempt.  max_procs and isolate
 * are ignored (containers are isolated; pod pid limits are kubelet settings).
 * nodeSelector from selector "k=v"; gpu_type, when gpus > 0, adds gpu-type=<type>
 * (cube-studio's node label) unless selector names gpu-type itself.
 *
 * Mounts, cube-studio's syntax "<source>(<kind>):<absolute path>":
 *   name(pvc):/p  name(pvc-share):/p  name(storage):/p   persistentVolumeClaim name
 *   /host/dir(hostpath):/p                                 hostPath /host/dir
 *   10G(memory):/dev/shm  (memory):/p                      emptyDir medium Memory,
 *                                                          sizeLimit 10Gi (G|Gi|g → Gi,
 *                                                          M|Mi|m → Mi, bare → Gi)
 *   name(configmap):/p   name(secret):/p                   configMap / secret name
 * Volumes are named vol<i>-<kind>.  cube-studio mounted a (pvc) at
 * <path>/<username> with subPath <username>; Cube has no user at this level and
 * mounts the whole claim at the path (as its pvc-share did).  Unless a mount
 * targets /dev/shm, a memory emptyDir "dshm" is mounted there (cube-studio did
 * the same: the runtime's 64 MiB /dev/shm breaks PyTorch data loaders and NCCL;
 * it counts against the pod's memory limit).  Unknown kinds, relative paths and
 * two mounts on one path are ERR_BADREQ.
 *
 * replicas N > 1 (the distributed template) → kubeflow.org/v1 PyTorchJob with
 * Master (1) and Worker (N-1) replicas, restartPolicy Never, runPolicy
 * backoffLimit 0, activeDeadlineSeconds as above, cleanPodPolicy Running (when
 * the job fails, still-running ranks are deleted; finished pods stay for their
 * logs and exit codes).  The container must be named "pytorch" for the training
 * operator to inject MASTER_ADDR, MASTER_PORT, WORLD_SIZE and RANK, so those are
 * dropped from env (MASTER_PORT's value, default 29500, becomes the container
 * port "pytorchjob-port" the operator reads it from) and LOCAL_RANK=0 is set:
 * one process per pod.  Needs the Kubeflow training operator (v1 API, checked
 * against the v1.9.0 CRD); without it the POST is a 404 → ERR_BADREQ.
 *
 * Status (k8s_status_of does the mapping, without I/O).  Job conditions
 * Complete → SUCCEEDED "exit 0"; Failed with reason DeadlineExceeded →
 * FAILED, timed_out; other Failed → FAILED with the failed container's exit
 * code ("exit 3"), reason "out of memory" and oom_killed for OOMKilled, "lost:
 * pod evicted: ..." / "lost: pod disrupted: ..." when the pod was evicted or
 * preempted (the watcher retries failures).  PyTorchJob: Succeeded / Failed,
 * timed out when the operator's message names the deadline; the failing rank
 * is named "(rank R of N)" like the shim does.  A terminal condition while a
 * pod of the attempt still runs (and is not being deleted) stays RUNNING
 * ("finishing: ..."), so FAILED or SUCCEEDED means nothing runs any more.
 * Without a terminal condition the pods decide, the worst one winning: a pod
 * Running → "running"; Pending → "pending: unschedulable: <scheduler message>",
 * "pending: image pull: <kubelet message>", "pending: <waiting reason>" or
 * "pending: no pod yet"; all RUNNING.  Image pull errors (ErrImagePull,
 * ImagePullBackOff) and CreateContainerConfigError become LOST ("failed to
 * start: ...") once the pod is K8S_START_GRACE_S old, InvalidImageName and
 * ErrImageNeverPull at once: LOST makes the watcher cancel (delete) the attempt
 * and fail the try, so an image that appears later cannot start a forgotten
 * attempt.  The age is measured on the API server's clock (its Date header).
 * Unschedulable pods wait: a cluster autoscaler may add a node; the timeout
 * bounds them.  Pod phase Unknown → LOST "lost: pod state unknown ...".  A Job
 * being deleted by someone else → LOST.  No Job and no PyTorchJob (404 with a
 * NotFound Status) → EXEC_ABSENT "lost: job vanished": as for the local engine,
 * absent is the watcher's evidence, and it alone knows whether the attempt
 * was ever submitted.  A 404 that is not a Kubernetes Status (a proxy, a wrong
 * endpoint) is ERR_UNAVAILABLE, not absence.
 *
 * Errors.  Transport failures, timeouts, 5xx and answers that are not the
 * JSON expected → ERR_UNAVAILABLE; 401 → ERR_UNAUTH; 403 (RBAC, also quota
 * "exceeded quota") → ERR_FORBIDDEN; 400/422 (invalid object) → ERR_BADREQ;
 * 429 → ERR_THROTTLED.  The server's Status message (or curl's error) is kept
 * for k8s_last_error() and, for status, also put in st->reason.
 *
 * Logs.  GET pods/<pod>/log?container=..&limitBytes=offset+max, sliced at
 * offset: each call reads the log from its start, so only the first
 * K8S_LOG_MAX bytes are reachable (ERR_TOOBIG past that), and the kubelet
 * serves only the current container log file (it rotates at
 * containerLogMaxSize, 10 MiB by default).  A PyTorchJob's log is its master's.
 * *eof once the pod has finished and fewer bytes came than asked for.  A
 * container not started yet reads as empty.
 *
 * Cancel and remove: DELETE with DeleteOptions propagationPolicy Background
 * (the object goes at once, the garbage collector deletes the pods with their
 * grace period).  Afterwards status says ABSENT: the Job is the record, and it
 * is gone.  remove with keep_log is a no-op (the log lives in the pod; deleting
 * either loses it), remove of a running attempt is ERR_CONFLICT.
 *
 * The namespace is engine_conf.queue ("default" when NULL).  status, cancel
 * and log are given only a name, so a per-task namespace could not be found
 * again: a spec->queue other than the cluster's namespace is ERR_BADREQ.
 * The image is spec->image; engine_conf has no default image yet, so an empty
 * one is ERR_BADREQ.
 *
 * Not thread-safe: one handle per thread.  The handle keeps one curl easy
 * handle, so consecutive requests reuse the connection.
 */
#ifndef CUBE_K8S_H
#define CUBE_K8S_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/engine.h"
#include "core/err.h"
#include "core/exec.h"
#include "core/attr.h"

#define K8S_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define K8S_DEFAULT_NAMESPACE "default"
#define K8S_DEFAULT_TIMEOUT_MS 5000
#define K8S_START_GRACE_S 300    /* image pull / config errors before LOST */
#define K8S_LOG_MAX (16L << 20)  /* bytes of a pod's log k8s_log can reach */
#define K8S_BODY_MAX (32L << 20) /* largest JSON answer accepted (pod lists, nodes) */
#define K8S_MASTER_PORT 29500    /* the distributed template's default */

struct k8s; /* opaque */

/* Copies everything it keeps.  NULL with a message in err for a bad endpoint (not http:// or
 * https://), a bad namespace or no curl handle.  Makes no request. */
struct k8s *k8s_open(const struct engine_conf *c, char *err, size_t errlen);
void k8s_close(struct k8s *k);

/*
 * Fills c for a pod of the cluster: token, ca.crt and namespace from dir (NULL:
 * K8S_SA_DIR), endpoint https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT (443 when
 * the port is unset; IPv6 hosts get brackets).  Strings are in the arena; other fields are
 * left as they were.  ERR_NOT_FOUND when not in a cluster (no host variable or no token).
 * The kubelet rotates the projected token (about hourly; the server keeps accepting an old
 * one for its whole lifetime), so long-lived processes should call this again and reopen,
 * e.g. once per pass: a handle is cheap.
 */
enum err k8s_conf_in_cluster(struct arena *a, const char *dir, struct engine_conf *c, char *err,
                             size_t errlen) WARN_UNUSED;

/* The verbs (semantics above and in exec.h). */
enum err k8s_submit(struct k8s *k, const struct exec_spec *spec) WARN_UNUSED;
enum err k8s_status(struct k8s *k, struct arena *a, const char *name,
                    struct exec_status *st) WARN_UNUSED;
enum err k8s_cancel(struct k8s *k, const char *name) WARN_UNUSED;
/* ERR_NOT_FOUND when neither the attempt's object nor a pod of it exists. */
enum err k8s_log(struct k8s *k, struct arena *a, const char *name, int64_t offset, size_t max,
                 const char **data, size_t *len, int64_t *next, bool *eof) WARN_UNUSED;
enum err k8s_remove(struct k8s *k, const char *name, bool keep_log) WARN_UNUSED;
/*
 * GET /version, /api/v1/nodes (count, ready, allocatable cpu, memory and nvidia.com/gpu)
 * and the namespace's jobs and pytorchjobs (access, operator installed).  *report (owned by
 * the arena): {"ok", "endpoint", "namespace", "version", "platform", "nodes": {...} or
 * {"error"}, "namespace_access", "pytorchjob"}.  An error only when /version fails (the
 * cluster is unreachable or refuses the token); the other parts report their own problems
 * (nodes are cluster-scoped: without that permission the report says so).
 */
enum err k8s_check(struct k8s *k, struct arena *a, json_object **report) WARN_UNUSED;
/* The message of the last failed call ("" after a success); valid until the next call. */
const char *k8s_last_error(const struct k8s *k);

/*
 * Pure builders, exposed for tests: the request body k8s_submit POSTs for spec in namespace
 * ns (a new object: json_object_put it), or NULL when the spec is invalid (k8s_submit says
 * why).  k8s_job_manifest refuses replicas > 1, k8s_pytorchjob_manifest replicas < 2.
 */
json_object *k8s_job_manifest(const struct exec_spec *spec, const char *ns);
json_object *k8s_pytorchjob_manifest(const struct exec_spec *spec, const char *ns);

/*
 * The status mapping above, without I/O: obj is the Job or PyTorchJob as the API returns it,
 * pods its PodList (NULL = none), now the API server's clock (Unix seconds).  Strings go to
 * the arena.  ERR_UNAVAILABLE when obj is not a Job or PyTorchJob.
 */
enum err k8s_status_of(struct arena *a, json_object *obj, json_object *pods, int64_t now,
                       struct exec_status *st) WARN_UNUSED;
/* Maps an HTTP status and body to the error above; *message is the Status's message (or a
 * description), in the arena.  ERR_OK for 2xx. */
enum err k8s_http_error(struct arena *a, long http_status, const char *body, size_t len,
                        const char **message);
/* A resource quantity ("250m", "16393292Ki", "1.5G", "2e3") as a number; false on junk. */
bool k8s_quantity(const char *s, double *out) WARN_UNUSED;

#endif
