#include "config.h"

#include "store/user_state.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The directory, made when create is true; a reader (create false) never makes it. */
static int state_directory(char *path, size_t size, bool create)
{
    const char *runtime_dir = getenv("XDG_RUNTIME_DIR");
    struct stat info;

    if (runtime_dir == NULL || runtime_dir[0] != '/' ||
        (size_t)snprintf(path, size, "%s/pam_oauth_keyring", runtime_dir) >= size)
        return -1;
    if (create && mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    /* Someone else's directory here would let them watch or steer our refreshes. */
    if (lstat(path, &info) != 0 || !S_ISDIR(info.st_mode) || info.st_uid != getuid() ||
        (info.st_mode & 0077) != 0)
        return -1;
    return 0;
}

static int state_path(const char *service, const char *suffix, bool create, char *path, size_t size)
{
    char directory[STATE_PATH_MAX];
    GString *name = g_string_new(NULL);
    int rv = -1;

    /* Keep [A-Za-z0-9._-] and encode the rest, so any service name is one safe file name. */
    for (const char *p = service; *p != '\0'; p++) {
        if (g_ascii_isalnum(*p) || *p == '-' || *p == '_' || (*p == '.' && p != service))
            g_string_append_c(name, *p);
        else
            g_string_append_printf(name, "%%%02X", (unsigned char)*p);
    }
    if (name->len > 0 && name->len < 200 &&
        state_directory(directory, sizeof(directory), create) == 0 &&
        (size_t)snprintf(path, size, "%s/%s%s", directory, name->str, suffix) < size)
        rv = 0;
    g_string_free(name, TRUE);
    return rv;
}

int user_state_path(const char *service, const char *suffix, char *path, size_t size)
{
    return state_path(service, suffix, true, path, size);
}

int user_state_existing_path(const char *service, const char *suffix, char *path, size_t size)
{
    return state_path(service, suffix, false, path, size);
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file name made by state_path back to its service: NULL when it is not one. */
static char *decode_service(const char *name, size_t length)
{
    GString *service = g_string_new(NULL);

    for (size_t i = 0; i < length; i++) {
        if (name[i] == '%' && i + 2 < length && g_ascii_isxdigit(name[i + 1]) &&
            g_ascii_isxdigit(name[i + 2])) {
            g_string_append_c(service, (char)(g_ascii_xdigit_value(name[i + 1]) * 16 +
                                              g_ascii_xdigit_value(name[i + 2])));
            i += 2;
        } else if (g_ascii_isalnum(name[i]) || name[i] == '-' || name[i] == '_' ||
                   (name[i] == '.' && i > 0)) {
            g_string_append_c(service, name[i]);
        } else {
            g_string_free(service, TRUE);
            return NULL;
        }
    }
    if (service->len == 0 || strlen(service->str) != service->len) {
        g_string_free(service, TRUE);
        return NULL;
    }
    return g_string_free(service, FALSE);
}

/* The services that have a SERVICE<suffix> file, names decoded, sorted, NULL-terminated. */
static char **services_with_file(const char *suffix)
{
    char directory[STATE_PATH_MAX];
    GPtrArray *services = g_ptr_array_new();
    GDir *listing = NULL;
    const char *name;

    if (state_directory(directory, sizeof(directory), false) == 0)
        listing = g_dir_open(directory, 0, NULL);
    while (listing != NULL && (name = g_dir_read_name(listing)) != NULL) {
        char *service = g_str_has_suffix(name, suffix)
                            ? decode_service(name, strlen(name) - strlen(suffix))
                            : NULL;
        if (service != NULL)
            g_ptr_array_add(services, service);
    }
    if (listing != NULL)
        g_dir_close(listing);
    g_ptr_array_sort(services, compare_names);
    g_ptr_array_add(services, NULL);
    return (char **)g_ptr_array_free(services, FALSE);
}

char **user_state_recorded_services(void)
{
    return services_with_file(".status");
}

char **user_state_running_services(void)
{
    char **candidates = services_with_file(".refresher");
    GPtrArray *running = g_ptr_array_new();

    for (size_t i = 0; candidates[i] != NULL; i++) {
        if (refresher_is_running(candidates[i]))
            g_ptr_array_add(running, g_strdup(candidates[i]));
    }
    g_strfreev(candidates);
    g_ptr_array_add(running, NULL);
    return (char **)g_ptr_array_free(running, FALSE);
}

static int open_lock_file(const char *service, const char *suffix)
{
    char path[STATE_PATH_MAX];

    if (user_state_path(service, suffix, path, sizeof(path)) != 0)
        return -1;
    return open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

int refresh_lock_acquire(const char *service, long timeout_ms)
{
    int fd = open_lock_file(service, ".lock");
    long waited_ms = 0;

    while (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if ((errno != EWOULDBLOCK && errno != EINTR) || waited_ms >= timeout_ms) {
            close(fd);
            return -1;
        }
        g_usleep(20 * 1000);
        waited_ms += 20;
    }
    return fd;
}

void refresh_lock_release(int fd)
{
    if (fd >= 0)
        close(fd); /* closing the only descriptor releases the flock */
}

bool refresher_lock_take(const char *service)
{
    int fd = open_lock_file(service, ".refresher");

    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        return true; /* deliberately kept open: the lock lives as long as the refresher */
    if (fd >= 0)
        close(fd);
    return false;
}

bool refresher_is_running(const char *service)
{
    char path[STATE_PATH_MAX];
    int fd = user_state_existing_path(service, ".refresher", path, sizeof(path)) == 0
                 ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
                 : -1;
    bool running = false;

    if (fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK)
        running = true;
    if (fd >= 0)
        close(fd);
    return running;
}

static void copy_member(struct json_object *object, const char *name, char *out, size_t size)
{
    struct json_object *value = NULL;

    if (json_object_object_get_ex(object, name, &value) &&
        json_object_is_type(value, json_type_string))
        snprintf(out, size, "%s", json_object_get_string(value));
}

void refresh_status_read(const char *service, struct refresh_status *status)
{
    char path[STATE_PATH_MAX];
    struct json_object *object = NULL, *value = NULL;

    memset(status, 0, sizeof(*status));
    if (user_state_existing_path(service, ".status", path, sizeof(path)) == 0)
        object = json_object_from_file(path);
    if (object == NULL || !json_object_is_type(object, json_type_object)) {
        json_object_put(object);
        return;
    }
    if (json_object_object_get_ex(object, "time", &value))
        status->time = (long long)json_object_get_int64(value);
    if (json_object_object_get_ex(object, "unknown_attempts", &value))
        status->unknown_attempts = json_object_get_int(value);
    if (json_object_object_get_ex(object, "retry_after_until", &value))
        status->retry_after_until = (long long)json_object_get_int64(value);
    copy_member(object, "outcome", status->outcome, sizeof(status->outcome));
    copy_member(object, "message", status->message, sizeof(status->message));
    copy_member(object, "unknown_fingerprint", status->unknown_fingerprint,
                sizeof(status->unknown_fingerprint));
    json_object_put(object);
}

int refresh_status_write(const char *service, const struct refresh_status *status)
{
    char path[STATE_PATH_MAX], temporary[STATE_PATH_MAX + 8];
    struct json_object *object = json_object_new_object();
    int rv = -1;

    json_object_object_add(object, "time", json_object_new_int64(status->time));
    json_object_object_add(object, "outcome", json_object_new_string(status->outcome));
    json_object_object_add(object, "message", json_object_new_string(status->message));
    json_object_object_add(object, "unknown_fingerprint",
                           json_object_new_string(status->unknown_fingerprint));
    json_object_object_add(object, "unknown_attempts",
                           json_object_new_int(status->unknown_attempts));
    json_object_object_add(object, "retry_after_until",
                           json_object_new_int64(status->retry_after_until));
    if (user_state_path(service, ".status", path, sizeof(path)) == 0 &&
        (size_t)snprintf(temporary, sizeof(temporary), "%s.new", path) < sizeof(temporary) &&
        json_object_to_file_ext(temporary, object, JSON_C_TO_STRING_PLAIN) == 0 &&
        rename(temporary, path) == 0)
        rv = 0;
    json_object_put(object);
    return rv;
}

int refresh_status_record_event(const char *service, const char *outcome, const char *message)
{
    struct refresh_status status;

    refresh_status_read(service, &status);
    status.time = (long long)time(NULL);
    snprintf(status.outcome, sizeof(status.outcome), "%s", outcome);
    snprintf(status.message, sizeof(status.message), "%s", message);
    return refresh_status_write(service, &status);
}

void token_fingerprint(const char *token, char *out, size_t size)
{
    char *digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, token, -1);

    snprintf(out, size, "%.16s", digest != NULL ? digest : "");
    g_free(digest);
}
