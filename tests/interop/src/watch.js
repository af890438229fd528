// Bundled to dist/watch.js (build.mjs): registers <moq-watch> from @moq/watch.
import "@moq/watch/element";
