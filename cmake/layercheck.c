/* Link check (CMakeLists.txt, moqc_layercheck_<layer>): linked with one whole
 * layer archive and the layers below it, so any symbol a layer takes from a
 * layer above it (or from nowhere) is an undefined reference at build time. */
int main(void) { return 0; }
