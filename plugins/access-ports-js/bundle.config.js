/**
 * Rolldown settings merged by `jco componentize --bundle` (see scripts/build-polyglot.sh):
 * the WIT imports (`naas:plugin/...`) are provided by the component model, not by files.
 */
export default { external: [/^naas:/] };
