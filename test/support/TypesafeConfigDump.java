import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValueFactory;
import java.io.File;

/**
 * Test helper: loads a HOCON file the way Jicofo and the videobridge do (ConfigFactory.load() with
 * -Dconfig.file, so includes, substitutions and environment variables resolve as in production) and prints
 * the keys the file defines as one line of JSON, ASCII only so the platform encoding cannot alter it.
 *
 * Usage: java -cp /usr/share/java/typesafe-config.jar TypesafeConfigDump.java FILE
 * (typesafeConfig.ts compiles it once with javac instead: a JVM start is then 0.1 s, not 1 s).
 */
public class TypesafeConfigDump {
    public static void main(String[] args) {
        File file = new File(args[0]);
        // Parsed alone only to learn which top-level keys are the file's (load() adds system properties).
        Config own = ConfigFactory.parseFile(file, ConfigParseOptions.defaults().setAllowMissing(false));
        System.setProperty("config.file", file.getPath());
        ConfigFactory.invalidateCaches();
        Config loaded = ConfigFactory.load();

        StringBuilder json = new StringBuilder("{");
        boolean first = true;
        for (String key : own.root().keySet()) {
            if (!first) json.append(',');
            first = false;
            json.append(ConfigValueFactory.fromAnyRef(key).render(ConfigRenderOptions.concise()));
            json.append(':');
            json.append(loaded.root().get(key).render(ConfigRenderOptions.concise()));
        }
        json.append('}');
        System.out.println(asciiOnly(json.toString()));
    }

    /** Non-ASCII can only occur inside JSON strings here, where a \\uXXXX escape means the same. */
    private static String asciiOnly(String json) {
        StringBuilder out = new StringBuilder(json.length());
        for (char c : json.toCharArray()) {
            if (c < 0x7f) out.append(c);
            else out.append(String.format("\\u%04x", (int) c));
        }
        return out.toString();
    }
}
