/* The parsed form of a packetdrill script (tools/script): what the parser
 * (parse.c) makes of the text and what the runner (run.c) executes. Shared
 * with the unit tests; not part of the CLI's view of the library (script.h). */
#ifndef GT_SCRIPT_AST_H
#define GT_SCRIPT_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- times ---- */

typedef enum gt_spd_time_kind {
	GT_SPD_TIME_ABSOLUTE,       /* 0.100 */
	GT_SPD_TIME_RELATIVE,       /* +0.1 */
	GT_SPD_TIME_ANY,            /* * */
	GT_SPD_TIME_ABSOLUTE_RANGE, /* 0.1~0.2 */
	GT_SPD_TIME_RELATIVE_RANGE, /* +0.1~+0.2 */
} gt_spd_time_kind;

/* ---- socket call arguments ---- */

typedef enum gt_spd_expr_kind {
	GT_SPD_EXPR_INT,      /* 3, 0x2, AF_INET, inet_addr("..."), htons(8080), A|B */
	GT_SPD_EXPR_ELLIPSIS, /* ... */
	GT_SPD_EXPR_STRING,   /* "cubic" */
	GT_SPD_EXPR_ARRAY,    /* [1], [{fd=4, events=POLLIN}] */
	GT_SPD_EXPR_STRUCT,   /* {onoff=1, linger=0}, {..., 10} */
	GT_SPD_EXPR_FIELD,    /* name=expr, inside a struct */
} gt_spd_expr_kind;

typedef struct gt_spd_expr gt_spd_expr;
struct gt_spd_expr {
	gt_spd_expr_kind kind;
	int64_t value;      /* INT */
	char *text;         /* STRING: the text; FIELD: the field's name */
	gt_spd_expr **elem; /* ARRAY, STRUCT: the elements; FIELD: elem[0] is the value */
	size_t n_elem;
};

/* ---- packets ---- */

/* TCP header flag bits, as in the header's 13th byte. */
enum {
	GT_SPD_FIN = 0x01,
	GT_SPD_SYN = 0x02,
	GT_SPD_RST = 0x04,
	GT_SPD_PSH = 0x08,
	GT_SPD_ACK = 0x10,
	GT_SPD_URG = 0x20,
	GT_SPD_ECE = 0x40,
	GT_SPD_CWR = 0x80,
};

#define GT_SPD_MAX_OPTIONS 40 /* bytes: TCP's data offset allows 60 - 20 */

typedef struct gt_spd_packet {
	bool inbound;      /* '<': from the script's remote end into the stack */
	uint16_t src_port; /* explicit "1001>8080" ports; 0 = the socket's */
	uint16_t dst_port;
	uint8_t flags;                       /* GT_SPD_* */
	uint32_t seq;                        /* script space (relative to the script's ISN) */
	uint16_t len;                        /* payload bytes */
	uint32_t ack;                        /* "ack N" (0 when absent) */
	int32_t win;                         /* "win N"; -1 absent (outbound: not checked) */
	uint16_t urg;                        /* "urg N" */
	bool options_any;                    /* "<...>": options not checked */
	uint8_t options[GT_SPD_MAX_OPTIONS]; /* as the script wrote them, wire format */
	size_t options_len;
	/* "< icmp TYPE [CODE] [mtu N] [seq:end(len)]": an ICMP error from the
	 * remote end quoting a segment the stack sent (seq and len above, in the
	 * stack's own sequence space) */
	bool icmp;
	uint8_t icmp_type, icmp_code;
	int32_t icmp_mtu; /* -1: none */
} gt_spd_packet;

/* ---- socket calls ---- */

typedef struct gt_spd_call {
	char *name;        /* "accept" */
	gt_spd_expr **arg; /* the arguments, in order */
	size_t n_arg;
	gt_spd_expr *result; /* after '=' */
	int errno_value;     /* the errno the call must set; 0 = none named */
	char *errno_name;    /* "EINPROGRESS" */
	bool blocking;       /* "+0...0.2": returns at end_usecs */
	int64_t end_usecs;   /* script time (relative ones are made absolute when run) */
} gt_spd_call;

/* ---- events ---- */

typedef enum gt_spd_event_kind {
	GT_SPD_EVENT_PACKET,
	GT_SPD_EVENT_CALL,
	GT_SPD_EVENT_COMMAND, /* a backquoted shell line: not run */
} gt_spd_event_kind;

typedef struct gt_spd_event {
	gt_spd_event_kind kind;
	int line;
	gt_spd_time_kind time_kind;
	int64_t time_usecs;     /* script microseconds */
	int64_t time_end_usecs; /* ranges */
	gt_spd_packet packet;
	gt_spd_call call;
	char *command; /* COMMAND */
} gt_spd_event;

/* One "--name=value" line at the top of a script (or on the command line). */
typedef struct gt_spd_option {
	char *name; /* without the dashes: "tolerance_usecs" */
	char *value;
	int line;
} gt_spd_option;

typedef struct gt_spd_script {
	char *path;
	gt_spd_option *option;
	size_t n_option;
	gt_spd_event *event;
	size_t n_event;
	size_t n_shell; /* backquoted lines (events, init and cleanup commands) */
	void *arena;    /* every string and expression above, freed together */
} gt_spd_script;

/* Parses a script's text. Returns the script, or NULL with a message
 * "PATH:LINE: what" in err. */
gt_spd_script *gt_spd_parse(const char *path, const char *text, char *err, size_t err_len);
void gt_spd_script_free(gt_spd_script *s);

/* Is name a socket call the runner knows (call.c)? */
bool gt_spd_known_call(const char *name);

/* ---- the constants scripts name ---- */

/* A symbolic constant (AF_INET, SO_LINGER, O_NONBLOCK, POLLIN, TCP_INFO,
 * TCP_ESTABLISHED, ...): true and *value when known. */
bool gt_spd_symbol(const char *name, int64_t *value);
/* An errno name: its value, or 0 when unknown. */
int gt_spd_errno_value(const char *name);
/* The name of an errno value ("ECONNREFUSED"), or NULL. */
const char *gt_spd_errno_name(int value);

#endif
