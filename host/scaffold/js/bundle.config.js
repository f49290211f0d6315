// The WIT imports (`naas:plugin/...`) come from the component model, not from files.
export default { external: [/^naas:/] };
