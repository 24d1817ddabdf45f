/*
 * metrics: a daemon's counters, gauges and histograms, their Prometheus
 * text (exposition format 0.0.4), the libmicrohttpd server that
 * serves it, and a daemon's end point made of the two.  See metrics.h for the threading: the registry belongs to
 * the daemon's loop; the server's threads see only published text, under
 * a lock.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>

#include "log.h"
#include "map.h"
#include "metrics.h"

#define NAME_MAX_LEN	128	/* a metric or label name */
#define PATH_METRICS	"/metrics"

struct series {
	char		*values;	/* label values, tab-separated; "" */
	double		 v;		/* counter, gauge; histogram sum */
	uint64_t	 count;		/* histogram */
	uint64_t	 buckets[METRICS_BUCKETS_MAX];
};

struct metrics_family {
	struct metrics_family *next;
	enum metrics_kind kind;
	char		 name[NAME_MAX_LEN];
	char		*help;
	char		 labels[METRICS_LABELS_MAX][NAME_MAX_LEN];
	int		 nlabels;
	double		 bounds[METRICS_BUCKETS_MAX];
	size_t		 nbounds;
	struct map	*index;		/* values -> series */
	struct series	**series;	/* in the order they came */
	size_t		 nseries;
	int		 cut;		/* a label set past the most was logged */
};

struct metrics {
	struct metrics_family *head, *tail;
};

/* Whether S is a metric or label name: [a-zA-Z_][a-zA-Z0-9_]*. */
static int
name_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= NAME_MAX_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (i > 0 && s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

struct metrics *
metrics_create(void)
{
	return calloc(1, sizeof(struct metrics));
}

/* Free every series of F, leaving it empty. */
static void
family_empty(struct metrics_family *f)
{
	size_t i;

	for (i = 0; i < f->nseries; i++) {
		free(f->series[i]->values);
		free(f->series[i]);
	}
	free(f->series);
	f->series = NULL;
	f->nseries = 0;
	map_destroy(f->index);
	f->index = map_create();
}

void
metrics_destroy(struct metrics *m)
{
	struct metrics_family *f, *next;

	if (m == NULL)
		return;
	for (f = m->head; f != NULL; f = next) {
		next = f->next;
		family_empty(f);
		map_destroy(f->index);
		free(f->help);
		free(f);
	}
	free(m);
}

/* Parse LABELS ("a" or "a,b") into F; 0, or -1 when a name is bad. */
static int
family_labels(struct metrics_family *f, const char *labels)
{
	const char *p = labels, *comma;
	size_t len;

	while (p != NULL && *p != '\0') {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (f->nlabels == METRICS_LABELS_MAX || !name_valid(p, len))
			return -1;
		memcpy(f->labels[f->nlabels], p, len);
		f->labels[f->nlabels++][len] = '\0';
		p = comma != NULL ? comma + 1 : NULL;
	}
	return 0;
}

struct metrics_family *
metrics_family(struct metrics *m, enum metrics_kind kind, const char *name,
    const char *help, const char *labels, const double *bounds,
    size_t nbounds)
{
	struct metrics_family *f;
	size_t i;

	if (!name_valid(name, strlen(name)) || nbounds > METRICS_BUCKETS_MAX ||
	    (f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->kind = kind;
	strlcpy(f->name, name, sizeof(f->name));
	for (i = 0; kind == METRICS_HISTOGRAM && i < nbounds; i++) {
		if (i > 0 && !(bounds[i] > bounds[i - 1]))
			goto bad;
		f->bounds[i] = bounds[i];
	}
	f->nbounds = kind == METRICS_HISTOGRAM ? nbounds : 0;
	if (family_labels(f, labels) == -1 ||
	    (f->help = strdup(help)) == NULL ||
	    (f->index = map_create()) == NULL)
		goto bad;
	if (m->tail != NULL)
		m->tail->next = f;
	else
		m->head = f;
	m->tail = f;
	return f;
bad:
	free(f->help);
	map_destroy(f->index);
	free(f);
	return NULL;
}

/* The series of F with label VALUES, made at its first use; or NULL. */
static struct series *
series_of(struct metrics_family *f, const char *values)
{
	struct series *s, **grown;

	if (f == NULL)
		return NULL;
	if (values == NULL)
		values = "";
	if ((s = map_get(f->index, values)) != NULL)
		return s;
	if (f->nseries == METRICS_SERIES_MAX) {
		/* once per family: the cut stays, a flood of logs would not */
		if (!f->cut)
			log_warnx("metrics: %s has %d series, its most: label "
			    "sets past them are not counted", f->name,
			    METRICS_SERIES_MAX);
		f->cut = 1;
		return NULL;
	}
	if ((f->nseries & (f->nseries - 1)) == 0) {
		/* sizes go 0, 1, 2, 4, ...: grow at each power of two */
		grown = reallocarray(f->series, f->nseries ? 2 * f->nseries :
		    1, sizeof(*grown));
		if (grown == NULL)
			return NULL;
		f->series = grown;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->values = strdup(values)) == NULL ||
	    map_put(f->index, values, s) == -1) {
		free(s->values);
		free(s);
		return NULL;
	}
	f->series[f->nseries++] = s;
	return s;
}

void
metrics_add(struct metrics_family *f, const char *values, double d)
{
	struct series *s = series_of(f, values);

	if (s != NULL)
		s->v += d;
}

void
metrics_set(struct metrics_family *f, const char *values, double v)
{
	struct series *s = series_of(f, values);

	if (s != NULL)
		s->v = v;
}

void
metrics_observe(struct metrics_family *f, const char *values, double v)
{
	struct series *s = series_of(f, values);
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < f->nbounds; i++)
		if (v <= f->bounds[i])
			s->buckets[i]++;
	s->count++;
	s->v += v;
}

void
metrics_clear(struct metrics_family *f)
{
	if (f != NULL)
		family_empty(f);
}

/* ------------------------------------------------------------------ */
/* the text                                                             */

/* A growing string; on failure it is freed and stays NULL. */
struct text {
	char	*buf;
	size_t	 len, cap;
	int	 failed;
};

/* Append FMT to T. */
static void __attribute__((format(printf, 2, 3)))
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	size_t need;
	char *grown;
	int n;

	if (t->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			break;
		if ((size_t)n < t->cap - t->len) {
			t->len += n;
			return;
		}
		need = t->len + n + 1;
		if (need > METRICS_TEXT_MAX)
			break;
		need = need < 2 * t->cap ? 2 * t->cap : need;
		if ((grown = realloc(t->buf, need)) == NULL)
			break;
		t->buf = grown;
		t->cap = need;
	}
	t->failed = 1;
}

/* Append V to T as the format wants a sample value. */
static void
text_value(struct text *t, double v)
{
	if (isnan(v))
		text_add(t, "NaN");
	else if (isinf(v))
		text_add(t, v > 0 ? "+Inf" : "-Inf");
	else if (v == (double)(int64_t)v && fabs(v) < 1e15)
		text_add(t, "%lld", (long long)v);
	else
		text_add(t, "%.9g", v);
}

/* Append S, a label value, escaped as the format wants, up to END. */
static void
text_escaped(struct text *t, const char *s, const char *end)
{
	for (; s < end && *s != '\0'; s++)
		if (*s == '\\')
			text_add(t, "\\\\");
		else if (*s == '"')
			text_add(t, "\\\"");
		else if (*s == '\n')
			text_add(t, "\\n");
		else
			text_add(t, "%c", *s);
}

/*
 * Append the label set of series S of F to T: "{a="x",b="y"}", with LE
 * (an upper bound, NULL for none) last; nothing when there are none.
 */
static void
text_labels(struct text *t, const struct metrics_family *f,
    const struct series *s, const char *le)
{
	const char *v = s->values, *tab;
	int i;

	if (f->nlabels == 0 && le == NULL)
		return;
	text_add(t, "{");
	for (i = 0; i < f->nlabels; i++) {
		tab = strchr(v, '\t');
		if (tab == NULL || i == f->nlabels - 1)
			tab = v + strlen(v);
		text_add(t, "%s%s=\"", i ? "," : "", f->labels[i]);
		text_escaped(t, v, tab);
		text_add(t, "\"");
		v = *tab != '\0' ? tab + 1 : tab;
	}
	if (le != NULL)
		text_add(t, "%sle=\"%s\"", f->nlabels ? "," : "", le);
	text_add(t, "}");
}

/* Append histogram series S of F, named PREFIX NAME, to T. */
static void
text_histogram(struct text *t, const char *prefix,
    const struct metrics_family *f, const struct series *s)
{
	char le[64];
	size_t i;

	for (i = 0; i < f->nbounds; i++) {
		snprintf(le, sizeof(le), "%.9g", f->bounds[i]);
		text_add(t, "%s%s_bucket", prefix, f->name);
		text_labels(t, f, s, le);
		text_add(t, " %llu\n", (unsigned long long)s->buckets[i]);
	}
	text_add(t, "%s%s_bucket", prefix, f->name);
	text_labels(t, f, s, "+Inf");
	text_add(t, " %llu\n%s%s_sum", (unsigned long long)s->count, prefix,
	    f->name);
	text_labels(t, f, s, NULL);
	text_add(t, " ");
	text_value(t, s->v);
	text_add(t, "\n%s%s_count", prefix, f->name);
	text_labels(t, f, s, NULL);
	text_add(t, " %llu\n", (unsigned long long)s->count);
}

char *
metrics_render(const struct metrics *m, const char *prefix, size_t *len)
{
	static const char *const kinds[] = {
		[METRICS_COUNTER] = "counter",
		[METRICS_GAUGE] = "gauge",
		[METRICS_HISTOGRAM] = "histogram",
	};
	const struct metrics_family *f;
	struct text t = { 0 };
	size_t i;

	if ((t.buf = malloc(t.cap = BUFSIZ)) == NULL)
		return NULL;
	t.buf[0] = '\0';
	for (f = m->head; f != NULL; f = f->next) {
		/* help text is ours: no backslash nor newline to escape */
		text_add(&t, "# HELP %s%s %s\n# TYPE %s%s %s\n", prefix,
		    f->name, f->help, prefix, f->name, kinds[f->kind]);
		/* an unlabelled counter or gauge is 0 before its first use */
		if (f->nseries == 0 && f->nlabels == 0 &&
		    f->kind != METRICS_HISTOGRAM)
			text_add(&t, "%s%s 0\n", prefix, f->name);
		for (i = 0; i < f->nseries; i++) {
			if (f->kind == METRICS_HISTOGRAM) {
				text_histogram(&t, prefix, f, f->series[i]);
				continue;
			}
			text_add(&t, "%s%s", prefix, f->name);
			text_labels(&t, f, f->series[i], NULL);
			text_add(&t, " ");
			text_value(&t, f->series[i]->v);
			text_add(&t, "\n");
		}
	}
	if (t.failed) {
		free(t.buf);
		return NULL;
	}
	*len = t.len;
	return t.buf;
}

/* ------------------------------------------------------------------ */
/* the HTTP server                                                      */

struct metrics_http {
	struct MHD_Daemon *d;
	int		 port;
	int		 pipe[2];	/* a scraper waits: a byte */
	pthread_mutex_t	 lock;
	pthread_cond_t	 fresh;
	char		*text;		/* the last published, under lock */
	size_t		 len;
	uint64_t	 gen;		/* publishes so far, under lock */
	int		 asked;		/* a byte is in the pipe, under lock */
};

/* Answer CONN with status CODE and TEXT (copied); MHD_YES or MHD_NO. */
static enum MHD_Result
http_answer(struct MHD_Connection *conn, unsigned int code, const char *text,
    size_t len, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)text,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * A scrape: ask the owner for fresh text and wait for it up to
 * METRICS_WAIT_MS, then answer with the latest there is.
 */
static enum MHD_Result
http_scrape(struct metrics_http *h, struct MHD_Connection *conn)
{
	struct timespec until;
	enum MHD_Result ret;
	uint64_t gen;
	char b = 1;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += METRICS_WAIT_MS / 1000;
	until.tv_nsec += (METRICS_WAIT_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&h->lock);
	gen = h->gen;
	if (!h->asked && write(h->pipe[1], &b, 1) == 1)
		h->asked = 1;
	while (h->gen == gen)
		if (pthread_cond_timedwait(&h->fresh, &h->lock, &until) != 0)
			break;
	ret = http_answer(conn, MHD_HTTP_OK, h->text != NULL ? h->text : "",
	    h->text != NULL ? h->len : 0, METRICS_CONTENT_TYPE);
	pthread_mutex_unlock(&h->lock);
	return ret;
}

/* MHD's request handler: GET /metrics, else 404 or 405. */
static enum MHD_Result
http_request(void *arg, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **state)
{
	static const char nf[] = "not found: try /metrics\n";
	static const char na[] = "method not allowed: GET only\n";

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	/*
	 * Answered at the first call, on the headers alone: a body that
	 * follows is never read (MHD discards it and closes).
	 */
	if (strcmp(url, PATH_METRICS) != 0)
		return http_answer(conn, MHD_HTTP_NOT_FOUND, nf,
		    sizeof(nf) - 1, "text/plain");
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return http_answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, na,
		    sizeof(na) - 1, "text/plain");
	return http_scrape(arg, conn);
}

/*
 * Parse ADDR ("host:port", "[v6]:port") into SA; 0, or -1 with ERR.
 */
static int
http_addr(const char *addr, struct sockaddr_storage *sa, char *err)
{
	struct sockaddr_in *in = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
	char host[64], *end;
	const char *colon = strrchr(addr, ':');
	size_t hl;
	long port;

	memset(sa, 0, sizeof(*sa));
	if (colon == NULL || (hl = colon - addr) == 0 || hl >= sizeof(host))
		goto bad;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || port < 0 || port > 65535)
		goto bad;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	if (host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1)
			return 0;
	} else {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		if (inet_pton(AF_INET, host, &in->sin_addr) == 1)
			return 0;
	}
bad:
	snprintf(err, METRICS_ERRLEN, "metrics address '%s': want "
	    "ADDRESS:PORT, a numeric address (127.0.0.1:9105, [::1]:9105)",
	    addr);
	return -1;
}

struct metrics_http *
metrics_http_start(const char *addr, char *err)
{
	struct sockaddr_storage sa;
	struct metrics_http *h;
	const union MHD_DaemonInfo *info;

	if (http_addr(addr, &sa, err) == -1)
		return NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    pipe2(h->pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		snprintf(err, METRICS_ERRLEN, "metrics: %s", strerror(errno));
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->fresh, NULL);
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION |
	    (sa.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL,
	    http_request, h,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)(2 *
	    METRICS_WAIT_MS / 1000 + 3),
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
	    MHD_OPTION_END);
	if (h->d == NULL) {
		snprintf(err, METRICS_ERRLEN, "metrics: cannot listen on %s "
		    "(in use, or not an address of this host?)", addr);
		metrics_http_stop(h);
		return NULL;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info != NULL ? info->port : 0;
	return h;
}

int
metrics_http_port(const struct metrics_http *h)
{
	return h->port;
}

int
metrics_http_fd(const struct metrics_http *h)
{
	return h != NULL ? h->pipe[0] : -1;
}

void
metrics_http_serve(struct metrics_http *h,
    char *(*render)(void *arg, size_t *len), void *arg)
{
	char *text;
	size_t len;

	if (h == NULL || !metrics_http_wanted(h))
		return;
	if ((text = render(arg, &len)) == NULL) {
		log_warnx("metrics: out of memory");
		return;
	}
	metrics_http_publish(h, text, len);
}

int
metrics_http_wanted(struct metrics_http *h)
{
	char b[16];
	int asked;

	pthread_mutex_lock(&h->lock);
	while (read(h->pipe[0], b, sizeof(b)) > 0)
		;
	asked = h->asked;
	h->asked = 0;
	pthread_mutex_unlock(&h->lock);
	return asked;
}

void
metrics_http_publish(struct metrics_http *h, char *text, size_t len)
{
	pthread_mutex_lock(&h->lock);
	free(h->text);
	h->text = text;
	h->len = len;
	h->gen++;
	pthread_cond_broadcast(&h->fresh);
	pthread_mutex_unlock(&h->lock);
}

void
metrics_http_stop(struct metrics_http *h)
{
	if (h == NULL)
		return;
	if (h->d != NULL)
		MHD_stop_daemon(h->d);
	close(h->pipe[0]);
	close(h->pipe[1]);
	pthread_cond_destroy(&h->fresh);
	pthread_mutex_destroy(&h->lock);
	free(h->text);
	free(h);
}

int
metrics_endpoint_start(struct metrics_endpoint *e,
    const struct metrics_spec *specs, size_t n, const char *addr, char *err)
{
	size_t i;

	e->http = NULL;
	if ((e->reg = metrics_create()) == NULL) {
		snprintf(err, METRICS_ERRLEN, "metrics: out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		if ((*specs[i].family = metrics_family(e->reg, specs[i].kind,
		    specs[i].name, specs[i].help, specs[i].labels,
		    specs[i].bounds, specs[i].nbounds)) == NULL) {
			snprintf(err, METRICS_ERRLEN, "metrics: cannot make %s",
			    specs[i].name);
			goto fail;
		}
	if (addr == NULL)
		return 0;
	if ((e->http = metrics_http_start(addr, err)) == NULL)
		goto fail;
	/* port 0 (--metrics ADDR:0) takes a free one: say which */
	log_info("metrics on %s: port %d, path /metrics", addr,
	    metrics_http_port(e->http));
	return 0;
fail:
	metrics_endpoint_stop(e);
	return -1;
}

void
metrics_endpoint_stop(struct metrics_endpoint *e)
{
	metrics_http_stop(e->http);
	e->http = NULL;
	metrics_destroy(e->reg);
	e->reg = NULL;
}
