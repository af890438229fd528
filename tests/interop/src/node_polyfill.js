// Node 20 lacks Promise.withResolvers (@moq/net uses it). Imported first by the Node bundles.
Promise.withResolvers ??= function () {
	let resolve;
	let reject;
	const promise = new Promise((res, rej) => {
		resolve = res;
		reject = rej;
	});
	return { promise, resolve, reject };
};
