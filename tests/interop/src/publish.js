// Bundled to dist/publish.js (build.mjs): registers <moq-publish> from @moq/publish.
import "@moq/publish/element";
