/* libFuzzer: the telnet client — negotiation, the screen, prompt and verdict detection — as the
 * probe's telnet module drives it over a device's bytes in any split (probe_drive.h), plus the
 * screen classifiers on the raw bytes. */
#include "probe/tnc.h"
#include "probe_drive.h"

extern const struct probe_proto probe_telnet;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    probe_drive(&probe_telnet, data, size);
    size_t n = size < TNC_SCREEN ? size : TNC_SCREEN;
    tnc_classify((const char *)data, n);
    tnc_prompt((const char *)data, n);
    return 0;
}
