package catalog

import (
	"archive/zip"
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// log4jJar writes a jar with the manifest and pom.properties that the
// log4j-core 2.14.1 release carries.
func log4jJar(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range [][2]string{
		{"META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nImplementation-Title: Apache Log4j Core\r\nImplementation-Version: 2.14.1\r\nImplementation-Vendor-Id: org.apache.logging.log4j\r\n\r\n"},
		{"META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties", "#Created by Apache Maven 3.6.3\nversion=2.14.1\ngroupId=org.apache.logging.log4j\nartifactId=log4j-core\n"},
		{"org/apache/logging/log4j/core/lookup/JndiLookup.class", "\xca\xfe\xba\xbe"},
	} {
		w, err := zw.Create(e[0])
		require.NoError(t, err)
		_, err = w.Write([]byte(e[1]))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}
