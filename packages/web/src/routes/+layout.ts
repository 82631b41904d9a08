// A single-page app: every page renders in the browser, from the one fallback index.html.
export const ssr = false;
export const prerender = false;
