/* moqc — symbol visibility. The library is built with -fvisibility=hidden;
 * only declarations marked MOQC_API are exported. */
#ifndef MOQC_EXPORT_H
#define MOQC_EXPORT_H
#if defined(MOQC_BUILDING) && defined(__GNUC__)
#define MOQC_API __attribute__((visibility("default")))
#else
#define MOQC_API
#endif
#endif
