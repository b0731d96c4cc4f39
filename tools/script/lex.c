/* The script lexer (lex.h). */
#include "script/lex.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

void gt_spd_lex_init(gt_spd_lexer *lx, const char *text)
{
	lx->text = text;
	lx->pos = 0;
	lx->line = 1;
}

static char peek(const gt_spd_lexer *lx, size_t ahead)
{
	size_t i = lx->pos;
	for (size_t k = 0; k < ahead; k++) {
		if (!lx->text[i])
			return '\0';
		i++;
	}
	return lx->text[i];
}

static void advance(gt_spd_lexer *lx)
{
	if (lx->text[lx->pos] == '\n')
		lx->line++;
	if (lx->text[lx->pos])
		lx->pos++;
}

/* Skips blanks and comments; false on a comment that never ends. */
static bool skip_space(gt_spd_lexer *lx)
{
	for (;;) {
		char c = peek(lx, 0);
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			advance(lx);
		} else if (c == '/' && peek(lx, 1) == '/') {
			while (peek(lx, 0) && peek(lx, 0) != '\n')
				advance(lx);
		} else if (c == '/' && peek(lx, 1) == '*') {
			int start = lx->line;
			advance(lx);
			advance(lx);
			while (peek(lx, 0) && !(peek(lx, 0) == '*' && peek(lx, 1) == '/'))
				advance(lx);
			if (!peek(lx, 0)) {
				lx->line = start; /* the error names where it began */
				return false;
			}
			advance(lx);
			advance(lx);
		} else {
			return true;
		}
	}
}

static bool is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Reads up to the closing quote q (backslash escapes it); false when the
 * text ends first. The token spans the inside. */
static bool read_quoted(gt_spd_lexer *lx, char q, gt_spd_tok *t)
{
	advance(lx);
	t->start = lx->text + lx->pos;
	while (peek(lx, 0) && peek(lx, 0) != q) {
		if (peek(lx, 0) == '\\' && peek(lx, 1))
			advance(lx);
		advance(lx);
	}
	if (!peek(lx, 0))
		return false;
	t->len = (size_t)(lx->text + lx->pos - t->start);
	advance(lx);
	return true;
}

static void read_number(gt_spd_lexer *lx)
{
	if (peek(lx, 0) == '-')
		advance(lx);
	if (peek(lx, 0) == '0' && (peek(lx, 1) == 'x' || peek(lx, 1) == 'X')) {
		advance(lx);
		advance(lx);
		while (isxdigit((unsigned char)peek(lx, 0)))
			advance(lx);
		return;
	}
	while (isdigit((unsigned char)peek(lx, 0)))
		advance(lx);
	/* a fraction only when a digit follows the point: "0...0.2" is 0 ... 0.2 */
	if (peek(lx, 0) == '.' && isdigit((unsigned char)peek(lx, 1))) {
		advance(lx);
		while (isdigit((unsigned char)peek(lx, 0)))
			advance(lx);
	}
}

/* "--name=value": the value ends at a blank, or is a quoted string. */
static void read_option(gt_spd_lexer *lx, gt_spd_tok *t)
{
	advance(lx);
	advance(lx);
	t->start = lx->text + lx->pos;
	while (is_word_char(peek(lx, 0)))
		advance(lx);
	if (peek(lx, 0) == '=') {
		advance(lx);
		if (peek(lx, 0) == '"') {
			advance(lx);
			while (peek(lx, 0) && peek(lx, 0) != '"' && peek(lx, 0) != '\n')
				advance(lx);
			if (peek(lx, 0) == '"')
				advance(lx);
		} else {
			while (peek(lx, 0) && !isspace((unsigned char)peek(lx, 0)))
				advance(lx);
		}
	}
	t->len = (size_t)(lx->text + lx->pos - t->start);
}

static bool read_code(gt_spd_lexer *lx, gt_spd_tok *t)
{
	t->start = lx->text + lx->pos;
	while (peek(lx, 0) && !(peek(lx, 0) == '}' && peek(lx, 1) == '%'))
		advance(lx);
	if (!peek(lx, 0))
		return false;
	advance(lx);
	advance(lx);
	t->len = (size_t)(lx->text + lx->pos - t->start);
	return true;
}

gt_spd_tok gt_spd_lex_next(gt_spd_lexer *lx)
{
	gt_spd_tok t = {.kind = GT_SPD_TOK_BAD};
	bool closed = skip_space(lx);
	t.line = lx->line;
	t.start = lx->text + lx->pos;
	if (!closed)
		return t;
	char c = peek(lx, 0), c1 = peek(lx, 1);
	if (!c) {
		t.kind = GT_SPD_TOK_EOF;
	} else if (isdigit((unsigned char)c) || (c == '-' && isdigit((unsigned char)c1)) ||
	           (c == '.' && isdigit((unsigned char)c1))) {
		read_number(lx);
		t.kind = GT_SPD_TOK_NUMBER;
	} else if (is_word_char(c)) {
		while (is_word_char(peek(lx, 0)))
			advance(lx);
		t.kind = GT_SPD_TOK_WORD;
	} else if (c == '.' && c1 == '.' && peek(lx, 2) == '.') {
		advance(lx);
		advance(lx);
		advance(lx);
		t.kind = GT_SPD_TOK_ELLIPSIS;
	} else if (c == '-' && c1 == '-' && is_word_char(peek(lx, 2))) {
		read_option(lx, &t);
		t.kind = GT_SPD_TOK_OPTION;
		return t;
	} else if (c == '"' || c == '`') {
		if (read_quoted(lx, c, &t))
			t.kind = c == '"' ? GT_SPD_TOK_STRING : GT_SPD_TOK_BACKQUOTE;
		return t;
	} else if (c == '%' && c1 == '{') {
		if (read_code(lx, &t))
			t.kind = GT_SPD_TOK_CODE;
		return t;
	} else {
		advance(lx);
		t.kind = GT_SPD_TOK_PUNCT;
		t.punct = c;
	}
	t.len = (size_t)(lx->text + lx->pos - t.start);
	return t;
}
