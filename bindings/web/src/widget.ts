// Entry point of dist/cobrowse-widget.js: the customer widget (one script, one call).
export { startWidget, hostAllowed } from './widget/widget.js';
export type { Widget, WidgetOptions, WidgetState } from './widget/widget.js';
