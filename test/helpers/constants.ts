/** Values shared by the test launcher and the helpers. */
export const TEST_SECRET = 'test-server-secret-0123456789abcdef0123456789';
export const TEMPLATE_DB = 'recorder_test_template';
