/* Subcommands of the glasstcp CLI. Each returns the process exit status:
 * 0 success, 1 failure of the thing run, 2 bad usage. */
#ifndef GT_CLI_H
#define GT_CLI_H

int gt_cli_demo(int argc, char **argv);
/* On a TUN device (tools/cli/up.c, connect.c, get.c; shared parts in tun_cli.c). */
int gt_cli_up(int argc, char **argv);
int gt_cli_connect(int argc, char **argv);
int gt_cli_get(int argc, char **argv);
/* A running up's connections and counters, through its control socket
 * (tools/cli/ss.c; up's side in up_status.c, the rendering in stats.c). */
int gt_cli_ss(int argc, char **argv);
/* Views (tools/cli/draw.c, fsm_cmd.c, explain_cmd.c; the renderers in tools/view). */
int gt_cli_draw(int argc, char **argv);
int gt_cli_fsm(int argc, char **argv);
int gt_cli_explain(int argc, char **argv);
/* The Linux kernel's TCP state changes, live (tools/cli/watch.c). */
int gt_cli_watch(int argc, char **argv);
/* packetdrill scripts, run by glasstcp's interpreter (tools/cli/script.c;
 * the interpreter in tools/script). */
int gt_cli_script(int argc, char **argv);

#endif
