#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

pid_t proc_spawn(const char *const argv[], const char *const env[], const char *dir, const char *logname)
{
    pid_t parent = getpid();
    pid_t pid = fork();

    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd;
        char path[512];
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        if (dir && logname) {
            snprintf(path, sizeof(path), "%s/%s", dir, logname);
            fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        } else {
            fd = open("/dev/null", O_WRONLY);
        }
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        for (int i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

int proc_wait(pid_t pid, int timeout_ms, int *status)
{
    int st = 0;
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            if (status)
                *status = st;
            return 0;
        }
        if (r < 0)
            return -1;
        usleep(10 * 1000);
    }
    return -1;
}

int proc_stop(pid_t pid, int grace_ms)
{
    int st = 0;
    kill(pid, SIGTERM);
    if (proc_wait(pid, grace_ms, &st) == 0)
        return st;
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return st;
}

const char *proc_bin(const char *name, char *buf, size_t len)
{
    const char *dir = getenv("ORCH_BIN_DIR");
    snprintf(buf, len, "%s/%s", dir ? dir : ".", name);
    return buf;
}

int proc_alive(long pid)
{
    char path[64], buf[256];
    FILE *f;
    char *cp;
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if (!(f = fopen(path, "r")))
        return 0;
    buf[0] = '\0';
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = '\0';
    fclose(f);
    cp = strrchr(buf, ')');
    return cp && cp[1] == ' ' && cp[2] != 'Z';
}

char *proc_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n > 0 ? (size_t)n + 1 : 1);
    if (!buf || n < 0 || fread(buf, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}
