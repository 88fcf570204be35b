/* shparse — parses one line of POSIX-ish shell into a tree, the way BusyBox ash would.
 *
 * Lists (`;` `&` newline), `&&` `||`, pipelines, `!`, redirections (`<` `>`
 * `>>` `N>` `N>&M`), subshells `( )`, groups `{ }`, `while`/`until`, `for`
 * and `if`.  Words are kept raw (quotes and `$VAR` intact) and expanded when
 * run, so a loop variable takes a new value each turn.  Everything lives in
 * one arena freed with the tree; nesting depth and tree size are capped, so
 * hostile input costs bounded memory and time.  Errors read like ash's:
 * "syntax error: unexpected "done"". */
#ifndef MAMORI_LURE_SHPARSE_H
#define MAMORI_LURE_SHPARSE_H

#include <stddef.h>

#define SH_MAX_DEPTH 16

enum sh_kind { SH_SIMPLE, SH_SUBSHELL, SH_GROUP, SH_WHILE, SH_UNTIL, SH_FOR, SH_IF };
enum sh_redir_op { SH_IN, SH_OUT, SH_APPEND, SH_DUP };
enum sh_andor_op { SH_THEN, SH_AND, SH_OR };

struct sh_redir {
    int fd, op, dupfd;
    const char *word; /* raw */
    struct sh_redir *next;
};

struct sh_list;

struct sh_node {
    enum sh_kind kind;
    const char **words; /* SIMPLE: raw words; FOR: the values after `in` */
    int nwords;
    struct sh_redir *redir;
    struct sh_list *a, *b, *c; /* body; WHILE/UNTIL/IF: a = condition, b = body, c = else */
    const char *var;           /* FOR */
};

struct sh_pipe {
    struct sh_node **cmds;
    int n, bang;
};

struct sh_andor {
    struct sh_pipe *pipe;
    int op; /* how it joins the previous item */
};

struct sh_list {
    struct sh_andor *items;
    int n;
};

struct sh_tree {
    struct sh_list *list;
    char *arena;
    size_t used, cap;
    char err[96];
};

/* Parses len bytes.  Returns 0 and tree->list, or -1 with tree->err set.
 * Free with sh_tree_free() either way. */
int sh_parse(struct sh_tree *tree, const char *line, size_t len);
void sh_tree_free(struct sh_tree *tree);

#endif
