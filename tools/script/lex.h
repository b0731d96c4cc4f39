/* The tokens of packetdrill's script language (tools/script/lex.c), as its
 * lexer (lexer.l) cuts them: words, numbers, strings, `shell lines`, "...",
 * "--option=value" and single punctuation characters; // and C comments are
 * skipped. */
#ifndef GT_SCRIPT_LEX_H
#define GT_SCRIPT_LEX_H

#include <stddef.h>
#include <stdint.h>

typedef enum gt_spd_tok_kind {
	GT_SPD_TOK_EOF,
	GT_SPD_TOK_NUMBER,    /* 3, -1, 0x2, 0.100, .5 (text holds it as written) */
	GT_SPD_TOK_WORD,      /* [A-Za-z0-9_]+ not starting with a digit */
	GT_SPD_TOK_STRING,    /* "..." (text without the quotes, escapes kept) */
	GT_SPD_TOK_BACKQUOTE, /* `...` (text without the quotes) */
	GT_SPD_TOK_ELLIPSIS,  /* ... */
	GT_SPD_TOK_OPTION,    /* --name=value (text: "name=value" or "name") */
	GT_SPD_TOK_CODE,      /* %{ ... }% */
	GT_SPD_TOK_PUNCT,     /* any other single character: text[0] */
	GT_SPD_TOK_BAD,       /* an unterminated string, quote or comment */
} gt_spd_tok_kind;

typedef struct gt_spd_tok {
	gt_spd_tok_kind kind;
	int line;
	const char *start; /* into the script's text */
	size_t len;
	char punct; /* PUNCT */
} gt_spd_tok;

typedef struct gt_spd_lexer {
	const char *text;
	size_t pos;
	int line;
} gt_spd_lexer;

void gt_spd_lex_init(gt_spd_lexer *lx, const char *text);
/* The next token; the lexer moves past it. */
gt_spd_tok gt_spd_lex_next(gt_spd_lexer *lx);

#endif
