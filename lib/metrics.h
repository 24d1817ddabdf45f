/*
 * metrics: counters, gauges and histograms of a daemon, rendered in the
 * Prometheus text exposition format (version 0.0.4), the HTTP server
 * that serves that text on GET /metrics, and a daemon's end point (its
 * registry and server, set up from a table of families).
 *
 * A registry (struct metrics) holds families, each with a name, a help
 * line, a kind and at most METRICS_LABELS_MAX label names; a family's
 * series are made at their first use, one per label value set, at most
 * METRICS_SERIES_MAX of them (a label set past them is counted nowhere,
 * and the first one is logged, once per family: labels are kept small).
 * With two labels, the values are given as one string, the two
 * separated by a tab.  Values are updated by the one thread that owns the
 * registry; the HTTP server runs in its own thread and serves only the
 * last text published to it (metrics_http_publish), so a slow scraper
 * never holds up the daemon.  The registry owns its families and series;
 * metrics_destroy frees them all.
 */
#ifndef CLUSTER_METRICS_H
#define CLUSTER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_LABELS_MAX	2
#define METRICS_SERIES_MAX	4096	/* per family */
#define METRICS_BUCKETS_MAX	16	/* histogram buckets, +Inf apart */
#define METRICS_TEXT_MAX	(4 << 20)	/* the largest text served */
#define METRICS_WAIT_MS		1000	/* a scrape waits for fresh text */
#define METRICS_CONNECTIONS	8	/* scrapers served at once */
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define METRICS_ERRLEN		256	/* a reason why a start failed */
/* The length of an array: a histogram's bounds, an end point's families. */
#define METRICS_NITEMS(a)	(sizeof(a) / sizeof(*(a)))

enum metrics_kind { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

struct metrics;
struct metrics_family;

struct metrics *metrics_create(void);
void	metrics_destroy(struct metrics *);

/*
 * A new family of M: NAME (a valid metric name, the registry's prefix
 * not included), HELP, LABELS ("a" or "a,b", NULL for none); a histogram
 * has the NBOUNDS upper bounds BOUNDS, ascending (copied).  Returns it
 * (owned by M), or NULL when out of memory or a name or bound is bad.
 */
struct metrics_family *metrics_family(struct metrics *, enum metrics_kind,
	    const char *name, const char *help, const char *labels,
	    const double *bounds, size_t nbounds);

/* Add D to the counter or gauge of F with label VALUES (NULL: none). */
void	metrics_add(struct metrics_family *, const char *values, double d);
/* Set the gauge of F with label VALUES to V. */
void	metrics_set(struct metrics_family *, const char *values, double v);
/* Count V in the histogram of F with label VALUES. */
void	metrics_observe(struct metrics_family *, const char *values, double v);
/* Forget every series of F (a gauge set afresh at each render). */
void	metrics_clear(struct metrics_family *);

/*
 * M as Prometheus text, every name prefixed with PREFIX, into a new
 * string (the caller frees it) of *LEN bytes; NULL when out of memory or
 * longer than METRICS_TEXT_MAX.
 */
char	*metrics_render(const struct metrics *, const char *prefix,
	    size_t *len);

struct metrics_http;

/*
 * Serve GET /metrics on ADDR ("host:port", a numeric IPv4 or IPv6
 * address; port 0: any free one) in a thread of its own; any other
 * method or path is answered 405 or 404.  Returns the server, or NULL
 * with a reason in ERR (METRICS_ERRLEN bytes).  Start it after any fork.
 */
struct metrics_http *metrics_http_start(const char *addr, char *err);
/* The port it listens on (useful after port 0). */
int	metrics_http_port(const struct metrics_http *);
/*
 * A descriptor that polls readable when a scraper waits for text: the
 * owner's loop then calls metrics_http_wanted and publishes.
 */
int	metrics_http_fd(const struct metrics_http *);	/* NULL: -1 */
/*
 * Whether a scraper waits for fresh text (the descriptor is drained):
 * the owner renders only then, so metrics cost nothing unscraped.  A
 * scraper waits for it at most METRICS_WAIT_MS, then takes the last.
 */
int	metrics_http_wanted(struct metrics_http *);
/* Serve TEXT of LEN bytes from now on; takes TEXT over (it is freed). */
void	metrics_http_publish(struct metrics_http *, char *text, size_t len);
/*
 * The owner loop's part, when H's descriptor polled readable: if a
 * scraper waits, publish what RENDER(ARG, &len) makes (NULL: out of
 * memory, logged; the last text stays).  H NULL is nothing.
 */
void	metrics_http_serve(struct metrics_http *h,
	    char *(*render)(void *arg, size_t *len), void *arg);
/* Stop serving and free H; NULL is nothing. */
void	metrics_http_stop(struct metrics_http *);

/*
 * A daemon's metrics end point (offerd's and agentd's --metrics): its
 * registry, its families, and the HTTP server when an address is given.
 */
struct metrics_endpoint {
	struct metrics		*reg;
	struct metrics_http	*http;		/* NULL: not served */
};

/* One family of an end point: where it is kept, and metrics_family's. */
struct metrics_spec {
	struct metrics_family	**family;
	enum metrics_kind	  kind;
	const char		 *name, *help, *labels;
	const double		 *bounds;
	size_t			  nbounds;
};

/*
 * Set up E: a new registry with the N families of SPECS, each stored
 * where its spec says, then, unless ADDR is NULL, the HTTP server on
 * ADDR, whose port is logged ("metrics on ADDR: port P, path /metrics").
 * Returns 0, or -1 with a reason in ERR (METRICS_ERRLEN bytes) and E
 * left empty.  Start it after any fork.
 */
int	metrics_endpoint_start(struct metrics_endpoint *e,
	    const struct metrics_spec *specs, size_t n, const char *addr,
	    char *err);
/* Stop E's server and free its registry, leaving E empty. */
void	metrics_endpoint_stop(struct metrics_endpoint *e);

#endif
