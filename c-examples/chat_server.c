/*
 * chat_server.c: a chat room in the browser, on ews's built-in server
 * (the equivalent of Barracuda's WebSocket-Chat example).
 *
 *   chat_server [port [address]]     (default 8080 on 127.0.0.1)
 *
 * Open http://127.0.0.1:8080/ in two browser tabs, join with a name in
 * each, and talk. Pass address 0.0.0.0 (or [::]) to let other machines
 * join. Port 0 picks a free port; the first line printed names it.
 * Ctrl-C (SIGINT) or SIGTERM stops the server cleanly.
 *
 * What it shows:
 * - one server serving a page ("/") next to its WebSocket ("/chat");
 * - the Barracuda pattern: each participant is a host object embedding
 *   the callback struct ews_wsscb, and each callback casts its first
 *   argument back to the participant;
 * - writes from two threads: chat messages are broadcast from the loop
 *   thread (in the frame callback), while a second thread, the announcer,
 *   tells everyone who joined: the frame callback only puts "X joined" on
 *   a small queue. ews_wss_write() is safe from any thread;
 * - teardown: the close callback removes the participant, announces that
 *   they left and frees the object (ews_wss_free() inside the close
 *   callback is allowed). The announcer holds a reference to each
 *   participant it writes to, so whichever of the two lets go last frees it.
 *
 * The protocol is plain text. A client's first message is its name; every
 * later one is said to the room. The server sends lines to display:
 * "name: text" for what someone said and "* ..." for news of the room.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ews.h"

#define NAME_MAX_BYTES 32
#define MESSAGE_MAX_BYTES 16384
#define QUEUE_SIZE 16

/* ----- the page served at "/" ----- */

static const char page[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>ews chat</title>\n"
    "<link rel=\"icon\" href=\"data:,\">\n"
    "<style>\n"
    "body { font: 1rem/1.5 system-ui, sans-serif; max-width: 40rem; margin: 1rem auto; padding: 0 1rem; }\n"
    "#log { list-style: none; margin: 0 0 1rem; padding: .5rem; border: 1px solid #767676;\n"
    "       height: 20rem; overflow-y: auto; }\n"
    "#log .news { color: #555; font-style: italic; }\n"
    "form { display: flex; gap: .5rem; align-items: center; margin: 0 0 1rem; }\n"
    "form input { flex: 1; font: inherit; padding: .25rem; }\n"
    "button { font: inherit; }\n"
    "[hidden] { display: none; }\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<h1>ews chat</h1>\n"
    "<form id=\"join\">\n"
    "<label for=\"name\">Your name</label>\n"
    "<input id=\"name\" maxlength=\"32\" autocomplete=\"nickname\" required>\n"
    "<button id=\"join-button\">Join</button>\n"
    "</form>\n"
    "<ul id=\"log\" role=\"log\" aria-live=\"polite\" aria-label=\"Conversation\"></ul>\n"
    "<form id=\"say\" hidden>\n"
    "<label for=\"text\">Message</label>\n"
    "<input id=\"text\" maxlength=\"2000\" autocomplete=\"off\" required>\n"
    "<button id=\"send-button\">Send</button>\n"
    "</form>\n"
    "<p id=\"status\" role=\"status\">Not connected.</p>\n"
    "<script>\n"
    "\"use strict\";\n"
    "(function () {\n"
    "  var join = document.getElementById(\"join\"), say = document.getElementById(\"say\");\n"
    "  var name = document.getElementById(\"name\"), text = document.getElementById(\"text\");\n"
    "  var log = document.getElementById(\"log\"), status = document.getElementById(\"status\");\n"
    "  var ws = null;\n"
    "  function show(line) {\n"
    "    var item = document.createElement(\"li\");\n"
    "    item.textContent = line;\n"
    "    if (line.lastIndexOf(\"* \", 0) === 0) item.className = \"news\";\n"
    "    log.appendChild(item);\n"
    "    log.scrollTop = log.scrollHeight;\n"
    "  }\n"
    "  join.addEventListener(\"submit\", function (e) {\n"
    "    e.preventDefault();\n"
    "    var me = name.value.trim();\n"
    "    if (!me || ws) return;\n"
    "    status.textContent = \"Connecting...\";\n"
    "    ws = new WebSocket((location.protocol === \"https:\" ? \"wss://\" : \"ws://\") + location.host + \"/chat\");\n"
    "    ws.onopen = function () {\n"
    "      ws.send(me);\n"
    "      join.hidden = true;\n"
    "      say.hidden = false;\n"
    "      text.focus();\n"
    "      status.textContent = \"Connected as \" + me + \".\";\n"
    "    };\n"
    "    ws.onmessage = function (ev) { show(ev.data); };\n"
    "    ws.onclose = function (ev) {\n"
    "      ws = null;\n"
    "      say.hidden = true;\n"
    "      join.hidden = false;\n"
    "      status.textContent = \"Disconnected (code \" + ev.code + \"). Join again to continue.\";\n"
    "    };\n"
    "  });\n"
    "  say.addEventListener(\"submit\", function (e) {\n"
    "    e.preventDefault();\n"
    "    if (ws && ws.readyState === WebSocket.OPEN && text.value) {\n"
    "      ws.send(text.value);\n"
    "      text.value = \"\";\n"
    "    }\n"
    "  });\n"
    "})();\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";

/* ----- participants ----- */

typedef struct participant {
    ews_wsscb cb; /* first, so that an ews_wsscb * is a participant * */
    ews_wss *wss;
    struct participant *next;
    unsigned refs; /* the room's reference and the announcer's; under `lock` */
    int joined;    /* its name arrived */
    char name[NAME_MAX_BYTES + 1];
} participant;

static ews_server *server;

/* `lock` guards the room (the list of participants, their refs and
 * joined flags) and the announcer's queue. The loop thread and the
 * announcer both read the room. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_ready = PTHREAD_COND_INITIALIZER;
static participant *room;
static size_t room_size;
static char *queue[QUEUE_SIZE];
static size_t queue_head, queue_len;
static int stopping;

/* Room lines built on the loop thread (a name, ": " and a message). */
static char line[NAME_MAX_BYTES + 2 + MESSAGE_MAX_BYTES + 1];

static void release(participant *p) {
    ews_wss_free(p->wss);
    free(p);
}

/* Sends `text` to everyone who joined. On the loop thread: ews_wss_write()
 * never waits there, so a participant whose send queue is full misses the
 * line (EWS_EAGAIN) instead of stalling the whole room. */
static void broadcast(const char *text, size_t len) {
    participant *p;
    pthread_mutex_lock(&lock);
    for (p = room; p; p = p->next) {
        if (p->joined)
            ews_wss_write(p->wss, text, len, 1);
    }
    pthread_mutex_unlock(&lock);
}

/* Hands `text` (allocated) to the announcer; 0 when its queue is full. */
static int announce(char *text) {
    int queued = 0;
    pthread_mutex_lock(&lock);
    if (queue_len < QUEUE_SIZE) {
        queue[(queue_head + queue_len++) % QUEUE_SIZE] = text;
        pthread_cond_signal(&queue_ready);
        queued = 1;
    }
    pthread_mutex_unlock(&lock);
    return queued;
}

/* The announcer thread: takes a line off the queue and writes it to
 * everyone in the room. A write from this thread may wait for room in a
 * participant's send queue, so it never holds `lock` while writing: it
 * takes a reference to each participant instead, and frees those who left
 * meanwhile when it lets go of them. */
static void *announcer(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    for (;;) {
        participant **to, *p;
        size_t n = 0, i;
        char *text;
        while (queue_len == 0 && !stopping)
            pthread_cond_wait(&queue_ready, &lock);
        if (queue_len == 0)
            break; /* stopping, and everything was announced */
        text = queue[queue_head];
        queue_head = (queue_head + 1) % QUEUE_SIZE;
        queue_len--;
        to = malloc((room_size ? room_size : 1) * sizeof *to);
        for (p = room; to && p; p = p->next) {
            if (p->joined) {
                p->refs++;
                to[n++] = p;
            }
        }
        pthread_mutex_unlock(&lock);

        for (i = 0; i < n; i++)
            ews_wss_write(to[i]->wss, text, strlen(text), 1);
        free(text);

        pthread_mutex_lock(&lock);
        for (i = 0; i < n; i++) {
            if (--to[i]->refs == 0) {
                pthread_mutex_unlock(&lock);
                release(to[i]); /* left while we wrote to them */
                pthread_mutex_lock(&lock);
            }
        }
        free(to);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* A name is at most NAME_MAX_BYTES of UTF-8 without control characters. */
static void set_name(participant *p, const char *text, size_t len) {
    size_t i;
    if (len > NAME_MAX_BYTES) {
        len = NAME_MAX_BYTES;
        while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
            len--; /* do not cut a UTF-8 sequence */
    }
    for (i = 0; i < len; i++)
        p->name[i] = (unsigned char)text[i] < 0x20 || text[i] == 0x7F ? '?' : text[i];
    p->name[len] = '\0';
    if (len == 0)
        strcpy(p->name, "anonymous");
}

static void join(participant *p, ews_wss *wss, const char *text, size_t len) {
    char *news;
    participant *q;
    size_t used, others = 0;

    set_name(p, text, len);
    /* Tell the newcomer who is here, from this (the loop) thread. */
    used = (size_t)snprintf(line, sizeof line, "* Welcome, %s.", p->name);
    pthread_mutex_lock(&lock);
    for (q = room; q; q = q->next) {
        if (q->joined && used + NAME_MAX_BYTES + 16 < sizeof line)
            used += (size_t)snprintf(line + used, sizeof line - used, "%s %s", others++ ? "," : " Here:", q->name);
    }
    p->joined = 1;
    pthread_mutex_unlock(&lock);
    used += (size_t)snprintf(line + used, sizeof line - used, "%s", others ? "." : " You are the first one here.");
    ews_wss_write(wss, line, used, 1);

    /* Tell everyone (the newcomer too) from the announcer thread. */
    news = malloc(NAME_MAX_BYTES + 16);
    if (news) {
        snprintf(news, NAME_MAX_BYTES + 16, "* %s joined", p->name);
        if (!announce(news)) { /* the announcer is behind: say it here */
            broadcast(news, strlen(news));
            free(news);
        }
    }
    printf("chat_server: %s joined\n", p->name);
    fflush(stdout);
}

static void on_frame(ews_wsscb *cb, ews_wss *wss, const void *data, size_t len, int is_text) {
    participant *p = (participant *)cb;
    size_t name_len;
    if (!is_text) {
        ews_wss_close(wss, 1003, "text only");
        return;
    }
    if (!p->joined) {
        join(p, wss, data, len);
        return;
    }
    /* "name: text"; the limits keep a message within MESSAGE_MAX_BYTES. */
    name_len = strlen(p->name);
    memcpy(line, p->name, name_len);
    memcpy(line + name_len, ": ", 2);
    memcpy(line + name_len + 2, data, len);
    broadcast(line, name_len + 2 + len);
}

static void on_close(ews_wsscb *cb, ews_wss *wss, int status) {
    participant *p = (participant *)cb, **link;
    int last;
    (void)wss;
    pthread_mutex_lock(&lock);
    for (link = &room; *link; link = &(*link)->next) {
        if (*link == p) {
            *link = p->next;
            room_size--;
            break;
        }
    }
    last = --p->refs == 0;
    pthread_mutex_unlock(&lock);

    if (p->joined) {
        if (status > 0)
            printf("chat_server: %s left (close code %d)\n", p->name, status);
        else
            printf("chat_server: %s left (%s)\n", p->name, ews_strerror(status));
        fflush(stdout);
        if (status != EWS_ECLOSED) { /* EWS_ECLOSED: the server is stopping */
            int n = snprintf(line, sizeof line, "* %s left", p->name);
            broadcast(line, (size_t)n);
        }
    }
    if (last)
        release(p); /* allowed inside the callback: torn down after it */
}

/* ----- HTTP: the page and the WebSocket ----- */

static void serve_page(void *user, ews_request *req) {
    const char *method = ews_request_method(req);
    (void)user;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        ews_request_respond(req, 405, "text/plain", "method not allowed\n", 19);
        return;
    }
    ews_request_respond(req, 200, "text/html; charset=utf-8", page, sizeof page - 1);
}

static void serve_chat(void *user, ews_request *req) {
    participant *p = calloc(1, sizeof *p);
    (void)user;
    if (!p) {
        ews_request_respond(req, 503, "text/plain", "out of memory\n", 14);
        return;
    }
    ews_wsscb_init(&p->cb, sizeof p->cb);
    p->cb.frame = on_frame;
    p->cb.close = on_close;
    p->refs = 1;
    if (ews_wss_new(&p->cb, 0, 0, &p->wss) != EWS_OK || ews_wss_upgrade(p->wss, req) != EWS_OK) {
        /* Not a valid WebSocket handshake: ews has answered with the HTTP error. */
        release(p);
        return;
    }
    pthread_mutex_lock(&lock);
    p->next = room;
    room = p;
    room_size++;
    pthread_mutex_unlock(&lock);
}

static void on_signal(int sig) {
    (void)sig;
    ews_server_stop(server); /* async-signal-safe */
}

int main(int argc, char **argv) {
    const char *port = argc > 1 ? argv[1] : "8080";
    const char *host = argc > 2 ? argv[2] : "127.0.0.1";
    char addr[128];
    ews_server_options opts;
    ews_limits limits;
    struct sigaction sa;
    sigset_t signals, old;
    pthread_t thread;
    int rc, listening;

    ews_limits_init(&limits, sizeof limits);
    limits.max_message = MESSAGE_MAX_BYTES;
    limits.max_frame = MESSAGE_MAX_BYTES;
    ews_server_options_init(&opts, sizeof opts);
    opts.limits = &limits;
    if ((rc = ews_server_new(&opts, &server)) != EWS_OK) {
        fprintf(stderr, "chat_server: %s\n", ews_strerror(rc));
        return 1;
    }
    snprintf(addr, sizeof addr, "%s:%s", host, port);
    if ((listening = ews_server_listen(server, addr)) < 0) {
        fprintf(stderr, "chat_server: cannot listen on %s: %s\n", addr, ews_strerror(listening));
        ews_server_free(server);
        return 1;
    }
    ews_server_route(server, "/", 0, serve_page, NULL);
    ews_server_route(server, "/chat", 0, serve_chat, NULL);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The announcer starts with SIGINT and SIGTERM blocked, so that they
     * reach the thread running the loop. */
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, &old);
    rc = pthread_create(&thread, NULL, announcer, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        fprintf(stderr, "chat_server: cannot start the announcer thread\n");
        ews_server_free(server);
        return 1;
    }

    if (strcmp(host, "0.0.0.0") == 0)
        host = "127.0.0.1";
    else if (strchr(host, ':'))
        host = "[::1]";
    printf("chat_server: open http://%s:%d/ in a browser\n", host, listening);
    fflush(stdout);
    rc = ews_server_run(server); /* until SIGINT or SIGTERM */

    /* Every connection is closed now (close callbacks ran). */
    pthread_mutex_lock(&lock);
    stopping = 1;
    pthread_cond_signal(&queue_ready);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    while (room) { /* none are left when every close callback ran */
        participant *p = room;
        room = p->next;
        release(p);
    }
    ews_server_free(server);
    printf("chat_server: stopped\n");
    return rc == EWS_OK ? 0 : 1;
}
